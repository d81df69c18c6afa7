import { describe, expect, it } from 'vitest';
import { compareStamps, isStamp, parseStamp, validateChange } from '@lifeline/core';
import { openLifelineDb, setMeta } from '$lib/db';
import { changedFields, deleteRecord, listOutbox, outboxSummary, writeFields } from './outbox';

let n = 0;
const freshDb = () => openLifelineDb(`outbox-test-${Date.now()}-${(n += 1)}`);
const id = '33333333-3333-4333-8333-333333333333';

describe('outbox', () => {
  it('stamps each written field with a fresh HLC stamp and records what the writer saw as base', async () => {
    const db = await freshDb();
    const seenStamp = '000000000001000:00000:srv';
    const change = await writeFields(db, 'u1', {
      entityType: 'update',
      entityId: id,
      fields: { title: 'Edited', status: 'resolved' },
      seen: { title: seenStamp, status: undefined },
    });
    expect(Object.keys(change.stamps).sort()).toEqual(['status', 'title']);
    expect(isStamp(change.stamps.title)).toBe(true);
    expect(change.base).toEqual({ title: seenStamp, status: null });
    // The server accepts exactly this shape (a volunteer may write updates).
    expect(validateChange(structuredClone(change), { kind: 'user', role: 'volunteer' }).ok).toBe(true);
  });

  it('keeps changes in the order they were made, with strictly increasing stamps', async () => {
    const db = await freshDb();
    const titles = Array.from({ length: 50 }, (_, i) => `T${i}`);
    for (const title of titles) {
      await writeFields(db, null, { entityType: 'update', entityId: id, fields: { title }, seen: {} });
    }
    const entries = await listOutbox(db);
    expect(entries.map((e) => e.change.fields?.title)).toEqual(titles);
    const stamps = entries.map((e) => e.change.stamps.title!);
    for (let i = 1; i < stamps.length; i += 1) expect(compareStamps(stamps[i], stamps[i - 1])).toBe(1);
    expect(await outboxSummary(db)).toEqual({ count: 50, oldest: entries[0]!.change.clientTime });
  });

  it('never issues the same stamp to two tabs writing at once (the clock advances inside the outbox transaction)', async () => {
    const name = `outbox-tabs-${Date.now()}`;
    const tabA = await openLifelineDb(name);
    // A second connection to the same database, as a second tab has.
    const { openDB } = await import('idb');
    const tabB = (await openDB(name)) as unknown as typeof tabA;
    const writes = Array.from({ length: 40 }, (_, i) =>
      writeFields(i % 2 ? tabA : tabB, null, {
        entityType: 'update',
        entityId: id,
        fields: { title: `x${i}` },
        seen: {},
      }),
    );
    const stamps = (await Promise.all(writes)).map((c) => c.stamps.title);
    expect(new Set(stamps).size).toBe(40);
  });

  it('continues after the newest stamp it has seen, even when the device clock is behind', async () => {
    const db = await freshDb();
    const future = Date.now() + 60_000;
    await setMeta(db, 'clientId', 'device-1');
    await setMeta(db, 'hlc', `${String(future).padStart(15, '0')}:00007:srv`);
    const change = await writeFields(db, null, {
      entityType: 'update',
      entityId: id,
      fields: { title: 'x' },
      seen: {},
    });
    expect(parseStamp(change.stamps.title)).toEqual({ ms: future, counter: 8, nodeId: 'device-1' });
  });

  it('a delete carries the deletedAt stamp and, in base, every field stamp the deleter saw', async () => {
    const db = await freshDb();
    const seen = { title: '000000000001000:00000:srv', body: '000000000002000:00000:srv', deletedAt: undefined };
    const change = await deleteRecord(db, 'u1', { entityType: 'update', entityId: id, seen });
    expect(change.op).toBe('delete');
    expect(change.fields).toBeUndefined();
    expect(Object.keys(change.stamps)).toEqual(['deletedAt']);
    expect(change.base).toEqual({ title: seen.title, body: seen.body, deletedAt: null });
    expect(validateChange(structuredClone(change), { kind: 'user', role: 'volunteer' }).ok).toBe(true);
  });

  it('an edit writes only the fields whose value changed', () => {
    expect(
      changedFields(
        { title: 'A', tags: ['x'], location: null, body: 'same' },
        { title: 'B', tags: ['x'], location: { label: 'Hall' }, body: 'same' },
      ),
    ).toEqual({ title: 'B', location: { label: 'Hall' } });
  });
});
