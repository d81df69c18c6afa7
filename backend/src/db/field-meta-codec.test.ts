import type { FieldMeta } from '@lifeline/core';
import { describe, expect, it } from 'vitest';
import { packMeta, unpackMeta } from './field-meta-codec';

const writer = { changeId: 'c1', author: 'u1', origin: 'o1', clientTime: '2026-01-01T00:00:00.000Z' };

describe('field meta codec', () => {
  it('round-trips every kind of field meta, storing each writer once', () => {
    const meta: Record<string, FieldMeta> = {
      title: { ...writer, base: null },
      body: { ...writer, base: 's1' },
      status: { ...writer, base: null, isDefault: true },
      deletedAt: { ...writer, base: null, seen: { title: 's1' } },
      priority: { ...writer, base: 's2', formerStamps: ['raw-stamp'] },
      tags: { ...writer, changeId: 'c2', base: null, isDefault: true, seen: { a: null }, formerStamps: ['x', 'y'] },
    };
    const packed = packMeta(meta);
    expect(packed.w).toHaveLength(2);
    expect(unpackMeta(JSON.parse(JSON.stringify(packed)))).toEqual(meta);
  });

  it('reads rows written before packing, and the shorter packed forms of earlier versions', () => {
    const legacy = { title: { ...writer, base: null } };
    expect(unpackMeta(legacy)).toEqual(legacy);
    expect(unpackMeta(null)).toEqual({});
    expect(unpackMeta({ w: [['c', 'a', 'o', 't']], f: { title: [0, 's', 1, { body: 's' }] } })).toEqual({
      title: {
        changeId: 'c',
        author: 'a',
        origin: 'o',
        clientTime: 't',
        base: 's',
        isDefault: true,
        seen: { body: 's' },
      },
    });
  });
});
