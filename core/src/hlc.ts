/**
 * Hybrid logical clock stamps: `<ms, 15 digits>:<counter, 5 digits>:<nodeId>`.
 *
 * Stamps sort lexicographically in causal-then-wall-clock order, so "the higher
 * stamp wins" is a plain string comparison everywhere (JS, SQL, IndexedDB).
 */

export type Stamp = string;

export interface ParsedStamp {
  ms: number;
  counter: number;
  nodeId: string;
}

const MS_DIGITS = 15;
const COUNTER_DIGITS = 5;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;
const STAMP_PATTERN = /^(\d{15}):(\d{5}):([A-Za-z0-9_-]{1,64})$/;

export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function formatStamp({ ms, counter, nodeId }: ParsedStamp): Stamp {
  return `${String(ms).padStart(MS_DIGITS, '0')}:${String(counter).padStart(COUNTER_DIGITS, '0')}:${nodeId}`;
}

/** Returns null for anything that is not a well-formed stamp. */
export function parseStamp(stamp: unknown): ParsedStamp | null {
  if (typeof stamp !== 'string') return null;
  const match = STAMP_PATTERN.exec(stamp);
  if (!match) return null;
  return { ms: Number(match[1]), counter: Number(match[2]), nodeId: match[3]! };
}

export function isStamp(value: unknown): value is Stamp {
  return parseStamp(value) !== null;
}

export function compareStamps(a: Stamp | null | undefined, b: Stamp | null | undefined): number {
  const left = a ?? '';
  const right = b ?? '';
  return left < right ? -1 : left > right ? 1 : 0;
}

export function maxStamp(a: Stamp | null | undefined, b: Stamp | null | undefined): Stamp | null {
  return compareStamps(a, b) >= 0 ? (a ?? null) : (b ?? null);
}

/** The highest of some stamps (string order is stamp order), or null when there are none. */
export function newestStamp(stamps: Iterable<Stamp>): Stamp | null {
  let newest: Stamp | null = null;
  for (const stamp of stamps) if (newest === null || stamp > newest) newest = stamp;
  return newest;
}

export class ClockDriftError extends Error {
  override readonly name = 'ClockDriftError';
}

/**
 * One replica's clock. `now()` stamps a local event; `receive()` folds in a
 * stamp seen from elsewhere so every later local stamp sorts after it.
 */
export class HybridLogicalClock {
  private ms = 0;
  private counter = 0;

  constructor(
    readonly nodeId: string,
    private readonly wallClock: () => number = Date.now,
    last?: Stamp | null,
  ) {
    if (!NODE_ID_PATTERN.test(nodeId)) throw new Error(`invalid HLC node id: ${nodeId}`);
    const parsed = parseStamp(last);
    if (parsed) {
      this.ms = parsed.ms;
      this.counter = parsed.counter;
    }
  }

  now(): Stamp {
    const wall = this.wallClock();
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else {
      this.bump();
    }
    return this.current();
  }

  receive(remote: Stamp): Stamp {
    const parsed = parseStamp(remote);
    if (!parsed) return this.now();
    const wall = this.wallClock();
    if (wall > this.ms && wall > parsed.ms) {
      this.ms = wall;
      this.counter = 0;
    } else if (parsed.ms > this.ms) {
      this.ms = parsed.ms;
      this.counter = parsed.counter;
      this.bump();
    } else if (parsed.ms === this.ms) {
      this.counter = Math.max(this.counter, parsed.counter);
      this.bump();
    } else {
      this.bump();
    }
    return this.current();
  }

  /** The last stamp issued, for persisting the clock between runs. */
  current(): Stamp {
    return formatStamp({ ms: this.ms, counter: this.counter, nodeId: this.nodeId });
  }

  private bump(): void {
    if (this.counter >= MAX_COUNTER) {
      // The counter is exhausted within one millisecond: borrow the next one.
      this.ms += 1;
      this.counter = 0;
    } else {
      this.counter += 1;
    }
  }
}
