import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changeSchema } from './contract';
import { validateChange, wellFormedChange } from './validate-change';

// Mostly well-formed parts, each sometimes wrong, so both paths are exercised many times.
const often = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: bad, weight: 1 });
const uuid = () =>
  often(
    fc.oneof(
      fc.uuid(),
      fc.uuid().map((id) => id.toUpperCase()),
    ),
    fc.string(),
  );
const map = () =>
  often(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()),
    fc.oneof(fc.constant(null), fc.array(fc.integer())),
  );
const time = () =>
  often(
    fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    fc.oneof(
      fc.constantFrom('2026-02-31T10:00:00Z', '2026-12-02T25:00:00Z', '2026-12-02T10:00:00+01:00', '2026-12-02', ''),
      fc.string(),
    ),
  );
const change = fc.record(
  {
    changeId: uuid(),
    entityType: often(
      fc.constantFrom('update', 'document'),
      fc.oneof(fc.string({ maxLength: 3 }), fc.string({ minLength: 31, maxLength: 34 })),
    ),
    entityId: uuid(),
    op: often(fc.constantFrom('upsert', 'delete'), fc.constant('merge')),
    fields: map(),
    stamps: map(),
    base: map(),
    clientTime: time(),
    author: often(fc.string({ maxLength: 120 }), fc.integer()),
    origin: fc.string({ maxLength: 120 }),
    extra: fc.string(),
  },
  { requiredKeys: ['changeId', 'entityId', 'op', 'stamps', 'clientTime'] },
);

describe('wellFormedChange: the hand-written fast path of changeSchema', () => {
  it('accepts only what the schema accepts, and reads it exactly as the schema does', () => {
    let fastOnes = 0;
    fc.assert(
      fc.property(change, (raw) => {
        const fast = wellFormedChange(raw);
        if (fast) fastOnes += 1;
        const parsed = changeSchema.safeParse(raw);
        if (fast) {
          expect(parsed.success).toBe(true);
          expect(fast).toEqual(parsed.data);
        }
        // The fast path covers every well-formed change whose maps are plain objects.
        if (parsed.success && !Array.isArray(raw.fields) && !Array.isArray(raw.stamps) && !Array.isArray(raw.base)) {
          expect(fast).not.toBeNull();
        }
      }),
      { numRuns: 3000 },
    );
    expect(fastOnes).toBeGreaterThan(100);
  });

  it('leaves the wording of errors to the schema', () => {
    const result = validateChange({ changeId: 'nope' }, { kind: 'user', role: 'volunteer' });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_change' } });
  });
});
