import { afterEach, describe, expect, it, vi } from 'vitest';
import { startBackgroundIndexing } from './background-indexing';

describe('background indexing', () => {
  afterEach(() => vi.useRealTimers());

  function setUp() {
    vi.useFakeTimers({ now: 0 });
    const runs: number[] = [];
    const indexing = startBackgroundIndexing(
      async () => runs.push(Date.now()),
      { warn: () => undefined },
      { everyMs: 1000, quietMs: 2000, maxDeferMs: 10_000 },
    );
    return { runs, indexing };
  }

  it('when nothing syncs, then it catches up on every tick', async () => {
    const { runs, indexing } = setUp();
    await vi.advanceTimersByTimeAsync(3500);
    expect(runs).toHaveLength(3);
    indexing.stop();
  });

  it('when sync traffic keeps flowing, then it waits, but never longer than maxDeferMs', async () => {
    const { runs, indexing } = setUp();
    for (let second = 0; second < 15; second += 1) {
      indexing.noteSyncActivity();
      await vi.advanceTimersByTimeAsync(1000);
    }
    // Deferred from the first tick; runs once the deferral reaches 10 s, then defers again.
    expect(runs).toHaveLength(1);
    indexing.stop();
  });

  it('when the traffic stops, then it runs once the quiet period has passed', async () => {
    const { runs, indexing } = setUp();
    indexing.noteSyncActivity();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([2000]);
    indexing.stop();
  });
});
