/**
 * The wall clock a device stamps its edits with. In the app it is the
 * device's own clock (`Date.now`), right or wrong; tests and the chaos
 * harness give each simulated device its own, skewed by hours, to prove that
 * a broken clock never loses or wins writes it should not.
 */
const clocks = new WeakMap<object, () => number>();

export function wallClockOf(db: object): () => number {
  return clocks.get(db) ?? Date.now;
}

export function setWallClock(db: object, clock: () => number): void {
  clocks.set(db, clock);
}
