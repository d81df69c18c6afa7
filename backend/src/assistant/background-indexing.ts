/**
 * Keeps the assistant's passages warm between questions, without competing
 * with sync. Indexing a burst of pushed records costs the database about as
 * much again as storing them, so while sync traffic is flowing the periodic
 * catch-up waits (up to `maxDeferMs`), then runs once it is quiet. Asking the
 * assistant always catches up first, so answers never miss a write.
 */
import type { Logger } from 'pino';

export interface BackgroundIndexing {
  /** Sync traffic just happened: defer the next catch-up. */
  noteSyncActivity(): void;
  stop(): void;
}

export interface BackgroundIndexingOptions {
  everyMs?: number;
  /** How long without push or pull counts as quiet. */
  quietMs?: number;
  /** Never put indexing off for longer than this. */
  maxDeferMs?: number;
}

export function startBackgroundIndexing(
  catchUp: () => Promise<unknown>,
  log: Pick<Logger, 'warn'>,
  { everyMs = 5000, quietMs = 2000, maxDeferMs = 60_000 }: BackgroundIndexingOptions = {},
): BackgroundIndexing {
  let lastActivity = -Infinity;
  let deferredSince: number | null = null;
  let running = false;
  const timer = setInterval(() => {
    const at = Date.now();
    if (running) return;
    if (at - lastActivity < quietMs) {
      deferredSince ??= at;
      if (at - deferredSince < maxDeferMs) return;
    }
    deferredSince = null;
    running = true;
    catchUp()
      .catch((error: unknown) => log.warn({ err: error }, 'assistant indexing failed'))
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return {
    noteSyncActivity: () => (lastActivity = Date.now()),
    stop: () => clearInterval(timer),
  };
}
