import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { AttachmentRef, SyncRecord } from '@lifeline/core';
import { getView } from '$lib/data/queries';
import { openLifelineDb, type AttachmentBlob, type LifelineDb } from '$lib/db';
import { failedItems, failedUploads, removeFailed, retryFailed } from './failed';

let dbCount = 0;
const freshDb = () => openLifelineDb(`failed-${Date.now()}-${(dbCount += 1)}`);
const STAMP = `${String(Date.UTC(2020, 0, 1)).padStart(15, '0')}:00000:other`;
const FAILURE = { code: 'unsupported_type', reason: 'no', at: '2030-01-01T00:00:00.000Z' };

function blob(hash: string, role: AttachmentBlob['role'], failed: boolean, type = 'image/jpeg'): AttachmentBlob {
  return {
    hash,
    blob: new Blob(['x'], { type }),
    type,
    size: 1,
    role,
    uploaded: false,
    storedAt: '2030-01-01T00:00:00.000Z',
    ...(failed ? { failed: FAILURE } : {}),
  };
}

function record(entityType: 'update' | 'document', id: string, attachments: AttachmentRef[]): SyncRecord {
  const fields = { title: 'With photos', attachments };
  return {
    entityType,
    entityId: id,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, STAMP])),
    version: 1,
    deletedAt: null,
    updatedAt: '2030-01-01T00:00:00.000Z',
  };
}

const photo = (hash: string, thumbnailHash: string): AttachmentRef => ({
  hash,
  type: 'image/jpeg',
  size: 1,
  thumbnailHash,
});
const pdf = (hash: string): AttachmentRef => ({ hash, type: 'application/pdf', size: 1, name: 'a.pdf' });

async function attachmentsNow(db: LifelineDb, entityType: 'update' | 'document', id: string) {
  return (await getView(db, entityType, id))?.fields.attachments;
}

describe('removing a failed file', () => {
  it('edits every record naming it (image or thumbnail) through the outbox, with the seen stamp as base', async () => {
    const db = await freshDb();
    // Photo A: its image failed, its thumbnail waits. Photo B: only its thumbnail failed. C is fine. D: a failed PDF.
    await db.put('attachments', blob('a-full', 'full', true));
    await db.put('attachments', blob('a-thumb', 'thumbnail', false));
    await db.put('attachments', blob('b-full', 'full', false));
    await db.put('attachments', blob('b-thumb', 'thumbnail', true));
    await db.put('attachments', blob('c-full', 'full', false));
    await db.put('attachments', blob('d', 'full', true, 'application/pdf'));
    await db.put('records', record('update', 'u1', [photo('a-full', 'a-thumb'), photo('c-full', 'c-thumb')]));
    await db.put('records', record('update', 'u2', [photo('b-full', 'b-thumb')]));
    await db.put('records', record('document', 'd1', [pdf('d'), photo('c-full', 'c-thumb')]));
    await db.put('records', record('update', 'u3', [photo('c-full', 'c-thumb')]));

    expect(await removeFailed(db, 'me')).toBe(3);

    expect(await attachmentsNow(db, 'update', 'u1')).toEqual([photo('c-full', 'c-thumb')]);
    expect(await attachmentsNow(db, 'update', 'u2')).toEqual([]);
    expect(await attachmentsNow(db, 'document', 'd1')).toEqual([photo('c-full', 'c-thumb')]);
    const outbox = await db.getAll('outbox');
    expect(outbox.map((entry) => entry.change.entityId).sort()).toEqual(['d1', 'u1', 'u2']);
    for (const { change, userId } of outbox) {
      expect(userId).toBe('me');
      expect(change.op).toBe('upsert');
      expect(Object.keys(change.fields!)).toEqual(['attachments']);
      expect(change.base).toEqual({ attachments: STAMP });
    }
    // The bytes go, the other half of a removed photo too (never sent), the rest stays.
    const left = (await db.getAll('attachments')).map((entry) => entry.hash).sort();
    expect(left).toEqual(['c-full']);
    expect(await failedUploads(db)).toEqual([]);
  });

  it('acts on one file when asked, leaving the others failed', async () => {
    const db = await freshDb();
    await db.put('attachments', blob('a-full', 'full', true));
    await db.put('attachments', blob('d', 'full', true, 'application/pdf'));
    await db.put('records', record('update', 'u1', [photo('a-full', 'a-thumb')]));
    await db.put('records', record('document', 'd1', [pdf('d')]));

    expect(await removeFailed(db, null, ['d'])).toBe(1);
    expect(await attachmentsNow(db, 'document', 'd1')).toEqual([]);
    expect(await attachmentsNow(db, 'update', 'u1')).toEqual([photo('a-full', 'a-thumb')]);
    expect((await failedUploads(db)).map((entry) => entry.hash)).toEqual(['a-full']);

    expect(await retryFailed(db, ['nothing'])).toBe(0);
    expect(await retryFailed(db, ['a-full'])).toBe(1);
    expect(await failedUploads(db)).toEqual([]);
    expect(await db.get('attachments', 'a-full')).toBeDefined();
  });

  it('writes nothing when no record names it', async () => {
    const db = await freshDb();
    await db.put('attachments', blob('a-full', 'full', true));
    expect(await removeFailed(db, null)).toBe(1);
    expect(await db.getAll('outbox')).toEqual([]);
    expect(await db.getAll('attachments')).toEqual([]);
  });
});

describe('failed items', () => {
  it('lists each photo (image and thumbnail together) and file on its own', async () => {
    const db = await freshDb();
    await db.put('attachments', blob('a-full', 'full', true));
    await db.put('attachments', blob('a-thumb', 'thumbnail', true));
    await db.put('attachments', blob('d', 'full', true, 'application/pdf'));
    await db.put('attachments', blob('loose', 'full', true));
    await db.put('records', record('update', 'u1', [photo('a-full', 'a-thumb')]));
    await db.put('records', record('document', 'd1', [pdf('d')]));
    await db.put('records', record('update', 'u2', [photo('a-full', 'a-thumb')]));

    const items = await failedItems(db);
    expect(items).toEqual([
      { hashes: ['a-full', 'a-thumb'], photo: true, title: 'With photos', reason: 'no' },
      { hashes: ['d'], photo: false, name: 'a.pdf', title: 'With photos', reason: 'no' },
      { hashes: ['loose'], photo: true, reason: 'no' },
    ]);
    expect(await removeFailed(db, null, items[0]!.hashes)).toBe(2);
    expect(await attachmentsNow(db, 'update', 'u1')).toEqual([]);
    expect(await attachmentsNow(db, 'update', 'u2')).toEqual([]);
    expect((await failedItems(db)).map((item) => item.hashes)).toEqual([['d'], ['loose']]);
  });
});
