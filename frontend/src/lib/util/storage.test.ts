/** The storage estimate's two uses: "almost full" past 80%, and whether a photo will fit. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { roomFor, storageUse } from './storage';

function estimate(usage: number, quota: number): void {
  vi.stubGlobal('navigator', {
    storage: { estimate: async () => ({ usage, quota }), persisted: async () => false },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('storage estimate', () => {
  it('is almost full past 80% of the quota', async () => {
    estimate(800, 1000);
    expect((await storageUse())?.nearlyFull).toBe(false);
    estimate(801, 1000);
    expect((await storageUse())?.nearlyFull).toBe(true);
  });

  it('refuses what will not fit, and lets through what it cannot tell', async () => {
    estimate(900, 1000);
    expect(await roomFor(100)).toEqual({ fits: true, free: 100 });
    expect(await roomFor(101)).toEqual({ fits: false, free: 100 });
    estimate(0, 0);
    expect(await roomFor(10 ** 9)).toEqual({ fits: true, free: null });
    vi.stubGlobal('navigator', {});
    expect(await roomFor(10 ** 9)).toEqual({ fits: true, free: null });
  });
});
