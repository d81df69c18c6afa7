import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Change } from './contract';
import { formatStamp, HybridLogicalClock, type Stamp } from './hlc';
import {
  clampStamp,
  conflictIdFor,
  deepEqual,
  mergeChange,
  mergeAliasStamps,
  mergeRecordStates,
  type ConflictDraft,
  type MergeContext,
  type RecordState,
} from './merge';

const ctx: MergeContext = { author: 'user-1', origin: 'server-1', nowMs: 10_000_000, clampFutureStamps: true };
const ID = '11111111-1111-4111-8111-111111111111';
const s = (ms: number, node = 'a', counter = 0): Stamp => formatStamp({ ms, counter, nodeId: node });
let nextChange = 0;
const changeId = () => `00000000-0000-4000-8000-${String(++nextChange).padStart(12, '0')}`;

function upsert(fields: Record<string, unknown>, stamp: Stamp, base: Record<string, Stamp | null> = {}): Change {
  return {
    changeId: changeId(),
    entityType: 'update',
    entityId: ID,
    op: 'upsert',
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((f) => [f, stamp])),
    base: Object.fromEntries(Object.keys(fields).map((f) => [f, base[f] ?? null])),
    clientTime: new Date(0).toISOString(),
  };
}

function del(stamp: Stamp, base: Record<string, Stamp | null> = { deletedAt: null }): Change {
  return {
    changeId: changeId(),
    entityType: 'update',
    entityId: ID,
    op: 'delete',
    stamps: { deletedAt: stamp },
    base,
    clientTime: new Date(0).toISOString(),
  };
}

function apply(record: RecordState | null, change: Change) {
  const outcome = mergeChange(record, change, ctx);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome;
}

describe('mergeChange', () => {
  const created = apply(null, upsert({ kind: 'need', title: 'Water' }, s(1000)));

  it('when a record is created, then required fields apply, defaults fill in, createdAt comes from the stamp', () => {
    expect(created.status).toBe('applied');
    expect(created.record.fields).toMatchObject({
      kind: 'need',
      title: 'Water',
      status: 'open',
      priority: 'normal',
      body: '',
      tags: [],
      createdBy: 'user-1',
      createdAt: new Date(1000).toISOString(),
    });
    expect(created.record.version).toBe(1);
  });

  it('when a create lacks required fields, then it is rejected', () => {
    expect(mergeChange(null, upsert({ kind: 'need' }, s(1000)), ctx)).toMatchObject({
      ok: false,
      code: 'missing_required_fields',
    });
  });

  it.each([
    ['sequential edit (saw the current stamp)', s(1000), s(2000), 'applied', 'B', 0],
    ['concurrent edit, arrives second and wins', null, s(2000), 'conflict', 'B', 1],
    ['concurrent edit, arrives second and loses (lower stamp)', null, s(1400), 'conflict', 'A', 1],
  ] as const)('%s', (_name, base, stamp, status, finalTitle, conflicts) => {
    const first = apply(created.record, upsert({ title: 'A' }, s(1500, 'x'), { title: s(1000) }));
    const second = apply(
      first.record,
      upsert({ title: 'B' }, stamp, { title: base === null ? s(1000) : s(1500, 'x') }),
    );
    if (base === null) {
      expect(second.status).toBe(status);
      expect(second.conflicts).toHaveLength(conflicts);
      expect(second.record.fields.title).toBe(finalTitle);
    } else {
      expect(second.status).toBe('applied');
      expect(second.conflicts).toHaveLength(0);
    }
  });

  it('when an edit overwrites a server-filled default, then it is never a conflict', () => {
    const edited = apply(created.record, upsert({ body: 'details' }, s(2000)));
    expect(edited.status).toBe('applied');
    expect(edited.conflicts).toEqual([]);
  });

  it('when two concurrent writes carry the same value, then there is no conflict', () => {
    const a = apply(created.record, upsert({ title: 'Same' }, s(2000, 'a'), { title: s(1000) }));
    const b = apply(a.record, upsert({ title: 'Same' }, s(2001, 'b'), { title: s(1000) }));
    expect(b.conflicts).toEqual([]);
  });

  it('when part of a change conflicts and the rest applies, then it is merged and names the conflict', () => {
    const a = apply(created.record, upsert({ title: 'A' }, s(2000, 'a'), { title: s(1000) }));
    const b = apply(a.record, upsert({ title: 'B', body: 'new' }, s(2001, 'b'), { title: s(1000), body: s(1000) }));
    expect(b.status).toBe('merged');
    expect(b.conflicts[0]!.field).toBe('title');
    expect(b.conflicts[0]!.values.map((v) => v.value)).toEqual(['A', 'B']);
  });

  it('when a stamp is more than 5 minutes ahead, then it is clamped to the server time', () => {
    const future = s(ctx.nowMs + 6 * 60 * 1000);
    const outcome = apply(created.record, upsert({ title: 'Future' }, future, { title: s(1000) }));
    expect(outcome.clamped).toBe(true);
    expect(outcome.record.stamps.title!.startsWith(String(ctx.nowMs).padStart(15, '0'))).toBe(true);
    expect(clampStamp(s(ctx.nowMs + 60_000), ctx.nowMs).clamped).toBe(false);
  });

  it('when a delete saw every field, then it applies as a tombstone', () => {
    const deleted = apply(created.record, del(s(3000), { deletedAt: null, ...created.record.stamps }));
    expect(deleted.status).toBe('applied');
    expect(deleted.record.deletedAt).toBe(new Date(3000).toISOString());
    expect(deleted.record.fields.title).toBe('Water');
  });

  it('when a delete did not see a concurrent edit, then it is a deletedAt conflict and the edit stays in the fields', () => {
    const edited = apply(created.record, upsert({ title: 'Edited' }, s(2000, 'b'), { title: s(1000) }));
    const deleted = apply(edited.record, del(s(1900, 'a'), { deletedAt: null, title: s(1000), kind: s(1000) }));
    expect(deleted.status).toBe('conflict');
    expect(deleted.conflicts[0]!.field).toBe('deletedAt');
    expect(deleted.record.fields.title).toBe('Edited');
    expect(deleted.record.deletedAt).not.toBeNull();
  });

  it('when an edit arrives after a delete it did not see, then it is a deletedAt conflict too', () => {
    const deleted = apply(created.record, del(s(2000, 'a'), { deletedAt: null, ...created.record.stamps }));
    const edited = apply(deleted.record, upsert({ title: 'Late edit' }, s(2500, 'b'), { title: s(1000) }));
    expect(edited.status).toBe('conflict');
    expect(edited.conflicts[0]!.field).toBe('deletedAt');
    expect(edited.record.fields.title).toBe('Late edit');
  });

  it('when an edit arrives before the create it followed, then it is kept and the create completes the record', () => {
    const create = upsert({ kind: 'need', title: 'Water' }, s(1000, 'c'));
    const editAfter = upsert({ title: 'Water, 40 L', status: 'in_progress' }, s(2000, 'e'), {
      title: s(1000, 'c'),
      status: s(1000, 'c'),
    });
    const early = apply(null, editAfter);
    expect(early.status).toBe('applied');
    expect(early.record.fields).toEqual({ title: 'Water, 40 L', status: 'in_progress' });
    const completed = apply(early.record, create);
    const inOrder = apply(apply(null, create).record, editAfter);
    expect(completed.record.fields).toEqual(inOrder.record.fields);
    expect(completed.record.stamps).toEqual(inOrder.record.stamps);
    expect(completed.conflicts).toEqual([]);
    expect(completed.record.fields).toMatchObject({ kind: 'need', title: 'Water, 40 L', createdBy: 'user-1' });
  });

  it('derives one conflict id from the pair of change ids, whatever their order', () => {
    expect(conflictIdFor('a', 'b', ID, 'title')).toBe(conflictIdFor('b', 'a', ID, 'title'));
    expect(conflictIdFor('a', 'b', ID, 'title')).not.toBe(conflictIdFor('a', 'b', ID, 'body'));
  });

  it('deepEqual compares structure, not identity', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(true);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });
});

describe('two creates of one record (a device re-offered it to a restored cloud; the hub forwards the original)', () => {
  /** The same fields under the same stamps, by another change and another author: who made it is filled in apart. */
  function creates(originalId: string, reofferId: string) {
    const fields = { kind: 'need', title: 'Water' };
    const original: Change = { ...upsert(fields, s(1000)), changeId: originalId, author: 'author-at-hub' };
    const reoffer: Change = { ...upsert(fields, s(1000)), changeId: reofferId, author: 'member-who-reoffered' };
    return { original, reoffer };
  }

  it.each([
    ['the original id sorts first', '00000000-0000-4000-8000-00000000a001', '00000000-0000-4000-8000-00000000b002'],
    [
      'the re-offer id sorts first (a device clock behind, or random ids)',
      'ffffffff-0000-4000-8000-00000000a001',
      '00000000-0000-4000-8000-00000000b002',
    ],
  ])('the hub and the cloud keep the same createdBy whichever id sorts first: %s', (_, originalId, reofferId) => {
    const { original, reoffer } = creates(originalId, reofferId);
    // The cloud: the re-offer made it again, then the hub's forwarded original arrived.
    const atCloud = apply(apply(null, reoffer).record, original).record;
    // The hub: the original made it; later it pulls the cloud's state.
    const atHub = mergeRecordStates(apply(null, original).record, atCloud);
    expect(atHub.fields).toEqual(atCloud.fields);
    expect(atHub.stamps).toEqual(atCloud.stamps);
    // And the other way round (a replica that saw them in the other order) ends the same.
    const otherOrder = apply(apply(null, original).record, reoffer).record;
    expect(otherOrder.fields).toEqual(atCloud.fields);
    expect(otherOrder.meta.createdBy?.changeId).toBe(atCloud.meta.createdBy?.changeId);
    // The first made (the lower of two time-ordered ids) is the record's creation, whichever arrived first.
    const first = originalId < reofferId ? original : reoffer;
    expect(atCloud.fields.createdBy).toBe(first.author);
  });

  it('a later create never takes a field someone wrote, even under a lower stamp', () => {
    const { original, reoffer } = creates(
      'ffffffff-0000-4000-8000-00000000a001',
      '00000000-0000-4000-8000-00000000b002',
    );
    // An edit that reached this server before either create (its writer saw the record elsewhere).
    const early = apply(null, upsert({ status: 'done' }, s(500, 'e'), { status: s(400, 'x') })).record;
    const after = apply(apply(early, reoffer).record, original).record;
    expect(after.fields.status).toBe('done');
    expect(after.stamps.status).toBe(s(500, 'e'));
    expect(after.fields.createdBy).toBe(reoffer.author); // the lower id: the first made
  });
});

describe('mergeRecordStates', () => {
  it('is commutative and idempotent', () => {
    const base = apply(null, upsert({ kind: 'need', title: 'T' }, s(1000))).record;
    const left = apply(base, upsert({ title: 'L' }, s(2000, 'l'), { title: s(1000) })).record;
    const right = apply(base, upsert({ body: 'R' }, s(2100, 'r'), { body: s(1000) })).record;
    const lr = mergeRecordStates(left, right);
    const rl = mergeRecordStates(right, left);
    expect(lr.fields).toEqual(rl.fields);
    expect(lr.stamps).toEqual(rl.stamps);
    expect(mergeRecordStates(lr, lr).fields).toEqual(lr.fields);
  });
});

/**
 * Three replicas exchange the same changes in random orders, with random
 * duplicates. Whatever the order: all converge, and every accepted write is
 * either the final value, superseded by a write that saw it, or kept in a
 * conflict on that replica.
 */
describe('convergence property', () => {
  const FIELDS = ['title', 'body', 'status', 'priority'] as const;
  const VALUES: Record<(typeof FIELDS)[number], unknown[]> = {
    title: ['A', 'B', 'C'],
    body: ['', 'x', 'y'],
    status: ['open', 'in_progress', 'resolved'],
    priority: ['low', 'high', 'critical'],
  };

  const opArb = fc.record({
    replica: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('edit', 'edit', 'edit', 'delete', 'restore'),
    field: fc.constantFrom(...FIELDS),
    valueIndex: fc.integer({ min: 0, max: 2 }),
    advanceMs: fc.integer({ min: 0, max: 30 }),
    deliverTo: fc.subarray([0, 1, 2]),
  });

  it('all replicas converge and no accepted write is lost', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 100, maxLength: 100 }),
        fc.array(fc.integer({ min: -40, max: 40 }), { minLength: 3, maxLength: 3 }),
        (ops, shuffleSeeds, skews) => {
          let wall = 2000;
          const create = upsert({ kind: 'need', title: 'start' }, s(1000, 'origin'));
          const replicas = [0, 1, 2].map((index) => ({
            // Each replica's clock runs skewed from the others', as real device clocks do.
            clock: new HybridLogicalClock(`r${index}`, () => wall + skews[index]!),
            record: apply(null, create).record as RecordState,
            seen: new Set<string>([create.changeId]),
            conflicts: [] as ConflictDraft[],
          }));
          const all: Change[] = [create];
          const deliver = (index: number, change: Change) => {
            const replica = replicas[index]!;
            if (replica.seen.has(change.changeId)) return; // a re-sent change is a duplicate
            replica.seen.add(change.changeId);
            for (const stamp of Object.values(change.stamps)) replica.clock.receive(stamp);
            const outcome = mergeChange(replica.record, change, { ...ctx, clampFutureStamps: false });
            if (!outcome.ok) throw new Error(outcome.message);
            replica.record = outcome.record;
            replica.conflicts.push(...outcome.conflicts);
          };

          ops.forEach((op) => {
            const replica = replicas[op.replica]!;
            wall += op.advanceMs;
            const stamp = replica.clock.now();
            const change =
              op.kind === 'delete'
                ? del(stamp, { deletedAt: replica.record.stamps.deletedAt ?? null, ...replica.record.stamps })
                : op.kind === 'restore'
                  ? { ...upsert({ deletedAt: null }, stamp, { deletedAt: replica.record.stamps.deletedAt ?? null }) }
                  : upsert({ [op.field]: VALUES[op.field][op.valueIndex] }, stamp, {
                      [op.field]: replica.record.stamps[op.field] ?? null,
                    });
            all.push(change);
            deliver(op.replica, change);
            for (const target of op.deliverTo) deliver(target, change);
          });

          // Final exchange: everything everywhere, shuffled, each twice.
          for (const [index] of replicas.entries()) {
            const order = [...all, ...all].map((change, k) => ({
              change,
              key: shuffleSeeds[k % 100]! * 31 + k * (index + 7),
            }));
            order.sort((a, b) => (a.key % 97) - (b.key % 97));
            for (const { change } of order) deliver(index, change);
          }

          const [first, ...rest] = replicas;
          for (const replica of rest) {
            expect(replica.record.fields).toEqual(first!.record.fields);
            expect(replica.record.stamps).toEqual(first!.record.stamps);
            expect(replica.record.deletedAt).toEqual(first!.record.deletedAt);
          }

          for (const replica of replicas) {
            for (const change of all) {
              for (const [field, stamp] of Object.entries(change.stamps)) {
                if (replica.record.stamps[field] === stamp) continue; // it is the final value
                // Superseded by a write whose writer saw exactly this value: its base names this
                // write, or a write of the same value. A later base only says the writer saw
                // something newer, not that it saw this.
                const sawThisValue = (seenStamp: string | null | undefined) =>
                  seenStamp === stamp ||
                  all.some(
                    (w) =>
                      w.stamps[field] === seenStamp &&
                      field !== 'deletedAt' &&
                      deepEqual(w.fields?.[field], change.fields?.[field]),
                  );
                const supersededKnowingly = all.some(
                  (other) => other.stamps[field] !== undefined && sawThisValue(other.base?.[field]),
                );
                // Kept in a conflict: this write, or an equal value written concurrently (the value is what matters).
                const inConflict = replica.conflicts.some(
                  (c) =>
                    c.field === field &&
                    c.values.some((v) => v.stamp === stamp || deepEqual(v.value, change.fields?.[field])),
                );
                const deleteSuperseded = field === 'deletedAt' || change.op === 'delete';
                const sameValueAsFinal =
                  field !== 'deletedAt' && deepEqual(change.fields?.[field], replica.record.fields[field]);
                expect(supersededKnowingly || inConflict || deleteSuperseded || sameValueAsFinal).toBe(true);
              }
            }
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
    );
  }, 600_000);
});

describe('sticky values: disabling an account wins a concurrent change', () => {
  const USER_ID = '22222222-2222-4222-8222-222222222222';
  const HASH = `scrypt$32768$8$1$${'A'.repeat(24)}$${'B'.repeat(44)}`;
  const userWrite = (fields: Record<string, unknown>, stamp: Stamp, base: Record<string, Stamp | null> = {}) => ({
    ...upsert(fields, stamp, base),
    entityType: 'user',
    entityId: USER_ID,
  });
  const account = apply(
    null,
    userWrite(
      { email: 'a@x.example', displayName: 'A', role: 'volunteer', disabled: false, passwordHash: HASH },
      s(1000),
    ),
  ).record;

  it('when a disable arrives after a concurrent enable with a higher stamp, then disabled wins above both stamps', () => {
    const enabled = apply(
      account,
      userWrite({ disabled: false, role: 'coordinator' }, s(3000, 'cloud'), { disabled: s(1000) }),
    );
    const disabled = apply(enabled.record, userWrite({ disabled: true }, s(2000, 'hub'), { disabled: s(1000) }));
    expect(disabled.record.fields.disabled).toBe(true);
    expect(disabled.record.stamps.disabled! > s(3000, 'cloud')).toBe(true);
    expect(disabled.record.meta.disabled!.changeId).not.toBe(enabled.record.meta.disabled!.changeId);
    expect(disabled.conflicts.map((c) => c.field)).toEqual(['disabled']);
    expect(disabled.acceptedStamps).toEqual({ disabled: disabled.record.stamps.disabled });
  });

  it('when an enable arrives after a concurrent disable with a lower stamp, then it stays disabled and lifted', () => {
    const disabled = apply(account, userWrite({ disabled: true }, s(2000, 'hub'), { disabled: s(1000) }));
    const enabled = apply(disabled.record, userWrite({ disabled: false }, s(3000, 'cloud'), { disabled: s(1000) }));
    expect(enabled.record.fields.disabled).toBe(true);
    expect(enabled.record.stamps.disabled! > s(3000, 'cloud')).toBe(true);
    expect(enabled.record.meta.disabled!.changeId).toBe(disabled.record.meta.disabled!.changeId);
    expect(enabled.conflicts).toHaveLength(1);
    // The enable that lost is kept in the conflict.
    expect(enabled.conflicts[0]!.values.map((v) => v.value)).toContain(false);
  });

  it('when an enable saw the disable, then it re-enables as usual', () => {
    const disabled = apply(account, userWrite({ disabled: true }, s(2000, 'hub'), { disabled: s(1000) }));
    const enabled = apply(
      disabled.record,
      userWrite({ disabled: false }, s(2500, 'cloud'), { disabled: disabled.record.stamps.disabled! }),
    );
    expect(enabled.record.fields.disabled).toBe(false);
    expect(enabled.conflicts).toEqual([]);
  });

  it('whatever the order three concurrent writes arrive in, every replica ends disabled with the same stamp', () => {
    const writes = [
      userWrite({ disabled: true }, s(2000, 'a'), { disabled: s(1000) }),
      userWrite({ disabled: false }, s(2500, 'b'), { disabled: s(1000) }),
      userWrite({ disabled: false }, s(2900, 'c'), { disabled: s(1000) }),
    ];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const finals = orders.map((order) =>
      order.reduce((record, index) => apply(record, writes[index]!).record, account),
    );
    for (const final of finals) {
      expect(final.fields.disabled).toBe(true);
      expect(final.stamps.disabled).toBe(finals[0]!.stamps.disabled);
    }
    // States merged by stamp alone (a hub pulling) agree with the op-based result.
    expect(mergeRecordStates(apply(account, writes[2]!).record, finals[0]!).fields.disabled).toBe(true);
  });

  it('when two servers write a conflict record concurrently, then the stamps decide and no conflict is made of it', () => {
    const conflictWrite = (fields: Record<string, unknown>, stamp: Stamp) => ({
      ...upsert(fields, stamp),
      entityType: 'conflict',
    });
    const fields = { entityType: 'update', entityId: ID, field: 'title', status: 'open', values: [] };
    const atHub = apply(null, conflictWrite(fields, s(2000, 'hub'))).record;
    const merged = apply(atHub, conflictWrite({ ...fields, values: [{ x: 1 }] }, s(2100, 'cloud')));
    expect(merged.conflicts).toEqual([]);
    expect(merged.record.fields.values).toEqual([{ x: 1 }]);
  });
});

describe('mergeAliasStamps: one write clamped differently at two servers', () => {
  const base = apply(null, upsert({ kind: 'need', title: 'T' }, s(1000))).record;
  const ids = { w: '00000000-0000-4000-8000-00000000aaaa', x: '00000000-0000-4000-8000-00000000bbbb' };
  const write = (id: string, title: string, stamp: Stamp, seen: Stamp) => ({
    ...upsert({ title }, stamp, { title: seen }),
    changeId: id,
  });
  const ctxLite = { author: 'u', origin: 'o', nowMs: ctx.nowMs };

  it('when the write is still the value, then it takes the higher stamp and remembers the other', () => {
    const w = write(ids.w, 'W', s(2000, 'cloud'), s(1000));
    const here = apply(base, w).record;
    const next = mergeAliasStamps(here, { ...w, stamps: { title: s(3000, 'hub') } }, w.stamps, ctxLite)!;
    expect(next.stamps.title).toBe(s(3000, 'hub'));
    expect(next.meta.title!.formerStamps).toContain(s(2000, 'cloud'));
    expect(next.version).toBe(here.version);
    // Told the lower one again: only remembered.
    const lower = mergeAliasStamps(next, { ...w, stamps: { title: s(2000, 'cloud') } }, w.stamps, ctxLite);
    expect(lower).toBeNull();
  });

  it('when a concurrent write beat it here but its other stamp outranks that write, then it becomes the value', () => {
    const w = write(ids.w, 'W', s(2000, 'cloud'), s(1000));
    const x = write(ids.x, 'X', s(2500, 'x'), s(1000));
    const here = apply(apply(base, w).record, x).record;
    expect(here.fields.title).toBe('X');
    const next = mergeAliasStamps(here, { ...w, stamps: { title: s(3000, 'hub') } }, w.stamps, ctxLite)!;
    expect(next.fields.title).toBe('W');
    expect(next.stamps.title).toBe(s(3000, 'hub'));
  });

  it('when a write that saw it beat it here, then that write stays, lifted above the other stamp', () => {
    const w = write(ids.w, 'W', s(2000, 'cloud'), s(1000));
    const y = write(ids.x, 'Y', s(2500, 'y'), s(2000, 'cloud'));
    const here = apply(apply(base, w).record, y).record;
    const next = mergeAliasStamps(here, { ...w, stamps: { title: s(3000, 'hub') } }, w.stamps, ctxLite)!;
    expect(next.fields.title).toBe('Y');
    expect(next.stamps.title! > s(3000, 'hub')).toBe(true);
    // A hub holding the write under its own stamp takes this state by stamp alone.
    const atHub = apply(base, { ...w, stamps: { title: s(3000, 'hub') } }).record;
    expect(mergeRecordStates(atHub, next).fields.title).toBe('Y');
  });

  it("when a create takes another server's higher stamp, then its defaults and createdAt move with it", () => {
    const create = { ...upsert({ kind: 'need', title: 'T' }, s(2000, 'cloud')), changeId: ids.w };
    const here = apply(null, create).record;
    const next = mergeAliasStamps(
      here,
      { ...create, stamps: { kind: s(3000, 'hub'), title: s(3000, 'hub') } },
      create.stamps,
      ctxLite,
    )!;
    const atHub = apply(null, { ...create, stamps: { kind: s(3000, 'hub'), title: s(3000, 'hub') } }).record;
    expect(next.fields).toEqual(atHub.fields);
    expect(next.stamps).toEqual(atHub.stamps);
    expect(next.fields.createdAt).toBe(new Date(3000).toISOString());
  });

  it("when a delete takes another server's higher stamp, then its deletedAt moves with it (it is read from the stamp)", () => {
    const d = { ...del(s(2000, 'cloud'), { deletedAt: null }), changeId: ids.w };
    const here = apply(base, d).record;
    expect(here.deletedAt).toBe(new Date(2000).toISOString());
    const next = mergeAliasStamps(here, { ...d, stamps: { deletedAt: s(3000, 'hub') } }, d.stamps, ctxLite)!;
    const atHub = apply(base, { ...d, stamps: { deletedAt: s(3000, 'hub') } }).record;
    expect(next.stamps.deletedAt).toBe(s(3000, 'hub'));
    expect(next.deletedAt).toBe(atHub.deletedAt);
    expect(mergeRecordStates(atHub, next).deletedAt).toBe(mergeRecordStates(next, atHub).deletedAt);
  });

  it('when a slow device edits a value it saw under a lower stamp than the one kept here, then its edit still wins, stamped above', () => {
    // The create reached the hub (stamp H) and the cloud (a later clamp C > H); a device whose clock is
    // behind saw it at the hub, and its edit (H < E < C) names H, which the cloud knows as C's alias.
    const create = { ...upsert({ kind: 'need', title: 'T' }, s(1000, 'hub')), changeId: ids.w };
    const atCloud = mergeAliasStamps(
      apply(null, create).record,
      { ...create, stamps: { kind: s(3000, 'cloud'), title: s(3000, 'cloud') } },
      create.stamps,
      ctxLite,
    )!;
    expect(atCloud.stamps.title).toBe(s(3000, 'cloud'));
    const editStamp = s(2000, 'device');
    const edited = apply(atCloud, upsert({ title: 'Edited' }, editStamp, { title: s(1000, 'hub') }));
    expect(edited.status).toBe('applied');
    expect(edited.record.fields.title).toBe('Edited');
    expect(edited.record.stamps.title! > s(3000, 'cloud')).toBe(true);
    expect(edited.acceptedStamps.title).toBe(edited.record.stamps.title);
    expect(edited.record.meta.title!.formerStamps).toContain(editStamp);
    expect(edited.conflicts).toEqual([]);
  });

  it('when a base names a stamp never known here (a raw future stamp clamped elsewhere), then the write keeps its stamp', () => {
    const create = { ...upsert({ kind: 'need', title: 'T' }, s(1000, 'hub')), changeId: ids.w };
    const here = apply(null, create).record;
    const forwarded = upsert({ body: 'B' }, s(2000, 'hub'), { body: s(ctx.nowMs + 3 * 60 * 60 * 1000, 'device') });
    const edited = apply(here, forwarded);
    expect(edited.record.stamps.body).toBe(s(2000, 'hub'));
    expect(edited.acceptedStamps).toEqual(forwarded.stamps);
  });

  it('when the other stamp is still too far ahead, then it is remembered, never adopted', () => {
    const w = write(ids.w, 'W', s(2000, 'cloud'), s(1000));
    const here = apply(base, w).record;
    const raw = s(ctx.nowMs + 60 * 60 * 1000, 'device');
    const next = mergeAliasStamps(here, { ...w, stamps: { title: raw } }, w.stamps, ctxLite)!;
    expect(next.stamps.title).toBe(s(2000, 'cloud'));
    expect(next.meta.title!.formerStamps).toEqual([raw]);
  });
});
