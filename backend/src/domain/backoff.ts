/**
 * Exponential backoff with full jitter: after the n-th consecutive failure,
 * wait a random time up to min(cap, base * 2^n), never less than `floor`.
 * Jitter keeps many hubs from hammering a recovering cloud in lockstep.
 */
export function backoffDelay(
  failures: number,
  options: { baseMs: number; capMs: number; floorMs?: number },
  random = Math.random,
): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(failures, 30));
  return Math.max(options.floorMs ?? 0, Math.round(random() * ceiling));
}
