import { describe, expect, it } from 'vitest';
import { cloneJson } from './clone-json';

describe('cloneJson', () => {
  it('copies JSON data deeply, equal to a JSON round trip and sharing nothing', () => {
    const original = { a: 1, b: 'x', c: null, d: [1, { e: true }], f: { g: { h: [] } }, u: undefined };
    const copy = cloneJson(original);
    expect(copy).toEqual(JSON.parse(JSON.stringify(original)));
    expect(Object.keys(copy)).not.toContain('u');
    copy.d.push(2);
    (copy.f.g.h as number[]).push(1);
    expect(original.d).toHaveLength(2);
    expect(original.f.g.h).toEqual([]);
  });

  it('returns primitives as they are', () => {
    expect(cloneJson(5)).toBe(5);
    expect(cloneJson(null)).toBeNull();
    expect(cloneJson('s')).toBe('s');
  });

  it('keeps a "__proto__" key as data, never as a prototype', () => {
    const original = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const copy = cloneJson(original);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });
});
