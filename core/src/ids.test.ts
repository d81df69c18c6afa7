import { describe, expect, it } from 'vitest';
import { uuidSchema } from './contract';
import { idTimeMs, newId } from './ids';

describe('newId', () => {
  it('is a version 7 UUID the contract accepts, in lower case', () => {
    for (let i = 0; i < 200; i += 1) {
      const id = newId();
      expect(uuidSchema.parse(id)).toBe(id);
      expect(id[14]).toBe('7');
      expect(['8', '9', 'a', 'b']).toContain(id[19]);
    }
  });

  it('carries its millisecond time, so ids made later sort after (as text and as Postgres uuid)', () => {
    const times = [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 1_700_000_000_000, Date.parse('2026-12-02T20:00:00Z'), 2 ** 48 - 1];
    for (const ms of times) expect(idTimeMs(newId(ms))).toBe(ms);
    const ids = times.map((ms) => newId(ms));
    expect([...ids].sort()).toEqual(ids);
  });

  it('is random within one millisecond', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId(1_700_000_000_000)));
    expect(ids.size).toBe(1000);
  });

  it('reads no time from other UUIDs', () => {
    expect(idTimeMs('3f2b8c1e-9a4d-4e2f-8b1a-0c9d8e7f6a5b')).toBeNull();
    expect(idTimeMs('not an id')).toBeNull();
  });
});
