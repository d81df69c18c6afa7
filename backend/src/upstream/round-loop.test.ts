/** The hub loops' schedule: one round at a time, kicks honoured, backoff kept, stop waits. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RoundLoop, type RoundHooks } from './round-loop';

const timing = { intervalMs: 60_000, backoffMaxMs: 4_000, kickDelayMs: 500 };

/** A loop whose work is `work`, with every hook call written to `events`. */
function loopOf(work: (loop: RoundLoop) => Promise<void>) {
  const events: string[] = [];
  const hooks: RoundHooks = {
    work: () => {
      events.push('work');
      return work(loop);
    },
    succeeded: () => events.push('succeeded'),
    failed: (error, failures) => events.push(`failed ${failures}: ${(error as Error).message}`),
    settled: async () => {
      events.push('settled');
    },
  };
  const loop = new RoundLoop(hooks, timing);
  return { loop, events };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('a hub loop', () => {
  it('runs the work again at once when kicked during a round, then waits the interval', async () => {
    let calls = 0;
    const { loop, events } = loopOf(async (self) => {
      calls += 1;
      if (calls === 1) self.kick(); // a write landed meanwhile
    });
    await loop.runNow();
    expect(events).toEqual(['work', 'work', 'succeeded', 'settled']);

    await vi.advanceTimersByTimeAsync(timing.intervalMs - 1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(3);
    await loop.stop();
  });

  it('takes a kick that comes while the round is finishing in a round soon after, not a period later', async () => {
    let calls = 0;
    let kickWhileSettling = true;
    const events: string[] = [];
    const loop: RoundLoop = new RoundLoop(
      {
        work: async () => {
          calls += 1;
        },
        succeeded: () => events.push('succeeded'),
        failed: () => events.push('failed'),
        settled: async () => {
          if (kickWhileSettling) loop.kick();
          kickWhileSettling = false;
        },
      },
      timing,
    );
    await loop.runNow();
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(timing.kickDelayMs);
    expect(calls).toBe(2);
    await loop.stop();
  });

  it('starts soon after a kick when idle, and one round takes any number of kicks', async () => {
    let calls = 0;
    const { loop } = loopOf(async () => {
      calls += 1;
    });
    loop.kick();
    loop.kick();
    loop.kick();
    await vi.advanceTimersByTimeAsync(timing.kickDelayMs);
    expect(calls).toBe(1);
    await loop.stop();
  });

  it('backs off after failures, a kick does not cut the backoff short, and a good round resets it', async () => {
    let failing = true;
    let calls = 0;
    const { loop, events } = loopOf(async () => {
      calls += 1;
      if (failing) throw new Error('cloud unreachable');
    });
    vi.spyOn(Math, 'random').mockReturnValue(1); // the longest wait the backoff allows
    await loop.runNow();
    expect(events).toEqual(['work', 'failed 1: cloud unreachable', 'settled']);
    const due = Date.parse(loop.nextAttemptAt!) - Date.now();
    expect(due).toBe(1_000); // 500 ms × 2^1

    loop.kick();
    await vi.advanceTimersByTimeAsync(timing.kickDelayMs);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(due - timing.kickDelayMs);
    expect(calls).toBe(2);
    expect(events.at(-2)).toBe('failed 2: cloud unreachable');
    expect(Date.parse(loop.nextAttemptAt!) - Date.now()).toBe(2_000);

    failing = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toBe(3);
    expect(events.slice(-2)).toEqual(['succeeded', 'settled']);
    loop.kick();
    await vi.advanceTimersByTimeAsync(timing.kickDelayMs);
    expect(calls).toBe(4);
    await loop.stop();
  });

  it('stop waits for the round under way and starts no other', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const { loop, events } = loopOf(async () => {
      calls += 1;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const round = loop.runNow();
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    loop.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    release();
    await Promise.all([round, stopping]);
    expect(stopped).toBe(true);
    expect(loop.isStopped).toBe(true);
    await vi.advanceTimersByTimeAsync(timing.intervalMs * 2);
    expect(calls).toBe(1);
    expect(events).toEqual(['work', 'succeeded', 'settled']);
  });
});
