import { describe, expect, it } from 'vitest';
import { compareStamps, formatStamp, HybridLogicalClock, isStamp, parseStamp } from './hlc';

describe('stamps', () => {
  it.each([
    ['001795740430673:00000:nodeA', true],
    ['001795740430673:00000:', false],
    ['1795740430673:00000:nodeA', false],
    ['001795740430673:0:nodeA', false],
    ['001795740430673:00000:no de', false],
    [42, false],
    [null, false],
  ])('isStamp(%j) is %s', (value, expected) => {
    expect(isStamp(value)).toBe(expected);
  });

  it('formats and parses round trip, and sort order is time, then counter, then node', () => {
    const stamp = formatStamp({ ms: 1_700_000_000_000, counter: 7, nodeId: 'abc' });
    expect(stamp).toBe('001700000000000:00007:abc');
    expect(parseStamp(stamp)).toEqual({ ms: 1_700_000_000_000, counter: 7, nodeId: 'abc' });
    const ordered = [
      formatStamp({ ms: 5, counter: 0, nodeId: 'z' }),
      formatStamp({ ms: 5, counter: 1, nodeId: 'a' }),
      formatStamp({ ms: 5, counter: 1, nodeId: 'b' }),
      formatStamp({ ms: 10, counter: 0, nodeId: 'a' }),
    ];
    expect([...ordered].reverse().sort(compareStamps)).toEqual(ordered);
    expect(compareStamps(null, ordered[0])).toBe(-1);
  });
});

describe('HybridLogicalClock', () => {
  it('when the wall clock stands still, then stamps still increase', () => {
    const clock = new HybridLogicalClock('n1', () => 1000);
    const stamps = Array.from({ length: 5 }, () => clock.now());
    expect([...stamps].sort()).toEqual(stamps);
    expect(new Set(stamps).size).toBe(5);
  });

  it('when the wall clock goes backwards, then stamps do not', () => {
    let wall = 5000;
    const clock = new HybridLogicalClock('n1', () => wall);
    const first = clock.now();
    wall = 1000;
    expect(compareStamps(clock.now(), first)).toBe(1);
  });

  it('when a remote stamp is ahead, then later local stamps sort after it', () => {
    const clock = new HybridLogicalClock('n1', () => 1000);
    const remote = formatStamp({ ms: 9000, counter: 3, nodeId: 'n2' });
    clock.receive(remote);
    expect(compareStamps(clock.now(), remote)).toBe(1);
  });

  it('when the counter is exhausted within a millisecond, then it borrows the next millisecond', () => {
    const clock = new HybridLogicalClock('n1', () => 1000, formatStamp({ ms: 1000, counter: 99_999, nodeId: 'n1' }));
    expect(parseStamp(clock.now())).toEqual({ ms: 1001, counter: 0, nodeId: 'n1' });
  });

  it('when resumed from a persisted stamp, then it continues after it', () => {
    const last = formatStamp({ ms: 50_000, counter: 2, nodeId: 'n1' });
    const clock = new HybridLogicalClock('n1', () => 10, last);
    expect(compareStamps(clock.now(), last)).toBe(1);
  });

  it('rejects node ids that would break the stamp format', () => {
    expect(() => new HybridLogicalClock('bad:id')).toThrow();
  });
});
