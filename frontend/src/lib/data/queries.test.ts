import { describe, expect, it } from 'vitest';
import type { SyncRecord } from '@lifeline/core';
import { openLifelineDb } from '$lib/db';
import { deleteRecord, writeFields } from '$lib/sync/outbox';
import { listViews, newestFirst, newestViews } from './queries';

let n = 0;
const freshDb = () => openLifelineDb(`queries-test-${Date.now()}-${(n += 1)}`);
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const STAMP = '000000000001000:00000:srv';

function update(i: number, createdAt: string, extra: Partial<SyncRecord> = {}): SyncRecord {
  return {
    entityType: 'update',
    entityId: uuid(i),
    fields: { kind: 'need', title: `Update ${i}`, createdAt },
    stamps: { kind: STAMP, title: STAMP, createdAt: STAMP },
    version: 1,
    deletedAt: null,
    updatedAt: createdAt,
    ...extra,
  } as SyncRecord;
}

describe('newestViews', () => {
  it('returns the same first page as sorting every record, ties included', async () => {
    const db = await freshDb();
    const records: SyncRecord[] = [];
    for (let i = 0; i < 300; i += 1) {
      // Batches of 40 share a creation time, as a bulk import would.
      const createdAt = new Date(Date.UTC(2024, 0, 1, 0, Math.floor(i / 40))).toISOString();
      records.push(update(i, createdAt, i % 17 === 0 ? { deletedAt: createdAt } : {}));
    }
    records.push({ ...update(999, '2030-01-01T00:00:00.000Z'), entityType: 'document' } as SyncRecord);
    const tx = db.transaction('records', 'readwrite');
    for (const record of records) void tx.store.put(record);
    await tx.done;

    const all = (await listViews(db, 'update')).sort(newestFirst);
    const first = await newestViews(db, 'update', 50);
    expect(first.map((r) => r.entityId)).toEqual(all.slice(0, 50).map((r) => r.entityId));
    expect(first.every((r) => r.entityType === 'update' && r.deletedAt === null)).toBe(true);
  });

  it('lays pending changes over the first page: creates on top, deletes gone, edits to older records kept whole', async () => {
    const db = await freshDb();
    const tx = db.transaction('records', 'readwrite');
    for (let i = 0; i < 10; i += 1) void tx.store.put(update(i, new Date(Date.UTC(2024, 0, 1, i)).toISOString()));
    await tx.done;
    await writeFields(db, null, {
      entityType: 'update',
      entityId: uuid(100),
      fields: { kind: 'offer', title: 'Brand new' },
      seen: {},
    });
    await deleteRecord(db, null, { entityType: 'update', entityId: uuid(9), seen: {} });
    await writeFields(db, null, { entityType: 'update', entityId: uuid(0), fields: { title: 'Old, edited' }, seen: {} });

    const first = await newestViews(db, 'update', 3);
    expect(first.map((r) => r.fields.title)).toEqual(['Brand new', 'Update 8', 'Update 7']);
    expect(first[0]!.localOnly).toBe(true);
    const all = await newestViews(db, 'update', 100);
    const edited = all.find((r) => r.entityId === uuid(0))!;
    expect(edited.fields).toMatchObject({ title: 'Old, edited', kind: 'need' });
    expect(all).toHaveLength(10);
  });
});
