/**
 * One sync at a time per browser profile. Web Locks span every tab (and the
 * service worker), so two tabs never push the same outbox entry twice; where
 * they are missing (Node tests, old browsers) an in-process mutex is used.
 */
const local = new Map<string, Promise<void>>();

export async function withSyncLock<T>(name: string, run: () => Promise<T>): Promise<T | null> {
  // Typed loosely: this runs in pages, the service worker and Node tests.
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (locks) {
    // ifAvailable: when another tab is already syncing, this one simply skips.
    return locks.request(name, { ifAvailable: true }, async (lock: Lock | null) => (lock ? run() : null));
  }
  if (local.has(name)) return null;
  let release!: () => void;
  local.set(name, new Promise<void>((resolve) => (release = resolve)));
  try {
    return await run();
  } finally {
    local.delete(name);
    release();
  }
}
