/**
 * One sync at a time per browser profile. Web Locks span every tab (and the
 * service worker), so two tabs never push the same outbox entry twice; where
 * they are missing (Node tests, old browsers) an in-process mutex is used.
 */
const local = new Map<string, Promise<void>>();

export async function withSyncLock<T>(name: string, run: () => Promise<T>): Promise<T | null> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks) {
    // ifAvailable: when another tab is already syncing, this one simply skips.
    return locks.request(name, { ifAvailable: true }, async (lock) => (lock ? run() : null));
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
