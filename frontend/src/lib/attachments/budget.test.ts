/**
 * The offline photo budget: least recently opened full images go first,
 * thumbnails and photos not yet sent are never touched, clearing removes
 * exactly what the budget counts, and a smaller budget evicts at once.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '$lib/api/client';
import { openLifelineDb, type AttachmentBlob, type LifelineDb } from '$lib/db';
import {
  clearKeptOffline,
  DEFAULT_PHOTO_BUDGET,
  enforcePhotoBudget,
  holdShown,
  keptOffline,
  photoBudget,
  setPhotoBudget,
} from './budget';
import { runPhotoTransfer } from '$lib/sync/engine';
import { downloadThumbnails, fetchFullImage } from './queue';
import type { AttachmentTransport } from './transport';

let dbCount = 0;
const freshDb = () => openLifelineDb(`budget-${Date.now()}-${(dbCount += 1)}`);

function entry(
  hash: string,
  size: number,
  options: Partial<AttachmentBlob> & { minute?: number } = {},
): AttachmentBlob {
  const { minute = 0, ...rest } = options;
  return {
    hash,
    blob: new Blob([new Uint8Array(size)], { type: 'image/jpeg' }),
    type: 'image/jpeg',
    size,
    role: 'full',
    uploaded: true,
    storedAt: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
    ...rest,
  };
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

async function hashes(db: LifelineDb): Promise<string[]> {
  return (await db.getAllKeys('attachments')).sort();
}

/** A server that has every file asked for, of the size its name says ("a-300": 300 bytes). */
function server(): AttachmentTransport & { downloads: string[] } {
  const downloads: string[] = [];
  return {
    downloads,
    declare: async () => ({ offset: 0, complete: true }),
    offset: async () => 0,
    append: async () => ({ offset: 0, complete: true }),
    download: async (hash: string) => {
      downloads.push(hash);
      if (hash.startsWith('missing')) throw new ApiError(404, 'not_found', 'not here');
      return new Blob([new Uint8Array(Number(hash.split('-')[1]))], { type: 'image/jpeg' });
    },
  };
}

describe('offline photo budget', () => {
  it('evicts the least recently opened full images first, until the rest fit', async () => {
    const db = await freshDb();
    await setPhotoBudget(db, 1000);
    // Stored in order a, b, c, d; b and a were opened later (a last), so c then d are the oldest in use.
    await db.put('attachments', entry('a', 400, { minute: 1, openedAt: at(30) }));
    await db.put('attachments', entry('b', 400, { minute: 2, openedAt: at(20) }));
    await db.put('attachments', entry('c', 400, { minute: 3 }));
    await db.put('attachments', entry('d', 400, { minute: 4 }));
    expect(await keptOffline(db)).toEqual({ bytes: 1600, photos: 4, budget: 1000 });

    expect(await enforcePhotoBudget(db)).toEqual({ photos: 2, bytes: 800 });
    expect(await hashes(db)).toEqual(['a', 'b']);
    expect(await keptOffline(db)).toEqual({ bytes: 800, photos: 2, budget: 1000 });
    // Under budget: nothing more goes.
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 0, bytes: 0 });
  });

  it('never evicts photos not yet sent, thumbnails, or images standing in for a thumbnail', async () => {
    const db = await freshDb();
    await setPhotoBudget(db, 0);
    await db.put('attachments', entry('own-pending', 5000, { uploaded: false }));
    await db.put('attachments', entry('own-thumb-pending', 500, { role: 'thumbnail', uploaded: false }));
    await db.put('attachments', entry('thumb', 500, { role: 'thumbnail' }));
    await db.put('attachments', entry('small-stand-in', 700, { shownSmall: true }));
    await db.put('attachments', entry('opened', 900, { openedAt: at(50) }));

    expect(await keptOffline(db)).toEqual({ bytes: 900, photos: 1, budget: 0 });
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 1, bytes: 900 });
    expect(await hashes(db)).toEqual(['own-pending', 'own-thumb-pending', 'small-stand-in', 'thumb']);
    expect(await clearKeptOffline(db)).toEqual({ photos: 0, bytes: 0 });
    expect(await hashes(db)).toEqual(['own-pending', 'own-thumb-pending', 'small-stand-in', 'thumb']);
  });

  it('"Clear offline photos and files" frees exactly the full images the server has', async () => {
    const db = await freshDb();
    await db.put('attachments', entry('downloaded-1', 300, { openedAt: at(5) }));
    await db.put('attachments', entry('downloaded-2', 200));
    await db.put('attachments', entry('own-sent', 100));
    await db.put('attachments', entry('own-unsent', 1000, { uploaded: false }));
    await db.put('attachments', entry('thumb', 50, { role: 'thumbnail' }));

    expect(await clearKeptOffline(db)).toEqual({ photos: 3, bytes: 600 });
    expect(await hashes(db)).toEqual(['own-unsent', 'thumb']);
    expect(await keptOffline(db)).toEqual({ bytes: 0, photos: 0, budget: DEFAULT_PHOTO_BUDGET });
  });

  it('a smaller budget evicts at once; the default is 50 MB', async () => {
    const db = await freshDb();
    expect(await photoBudget(db)).toBe(50 * 1024 * 1024);
    await db.put('attachments', entry('old', 600, { minute: 1 }));
    await db.put('attachments', entry('new', 600, { minute: 2 }));
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 0, bytes: 0 });

    expect(await setPhotoBudget(db, 700)).toEqual({ photos: 1, bytes: 600 });
    expect(await photoBudget(db)).toBe(700);
    expect(await hashes(db)).toEqual(['new']);
  });

  it('keeps what is on screen, even when it alone is over budget', async () => {
    const db = await freshDb();
    await setPhotoBudget(db, 100);
    await db.put('attachments', entry('shown', 500, { minute: 1 }));
    await db.put('attachments', entry('other', 500, { minute: 2 }));
    const release = holdShown('shown');
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 1, bytes: 500 });
    expect(await hashes(db)).toEqual(['shown']);
    expect(await clearKeptOffline(db)).toEqual({ photos: 0, bytes: 0 });
    release();
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 1, bytes: 500 });
    expect(await hashes(db)).toEqual([]);
  });

  it('opening photos downloads, records the opening, and evicts the least recently opened', async () => {
    const db = await freshDb();
    const transport = server();
    await setPhotoBudget(db, 1000);
    await fetchFullImage(db, transport, 'a-400');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await fetchFullImage(db, transport, 'b-400');
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Opened again: now more recent than b, so b goes when c arrives.
    await fetchFullImage(db, transport, 'a-400');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await fetchFullImage(db, transport, 'c-400');
    expect(transport.downloads).toEqual(['a-400', 'b-400', 'c-400']);
    expect(await hashes(db)).toEqual(['a-400', 'c-400']);

    // Evicted: opened again, it is simply fetched again (and the least recently opened, a, makes room).
    expect((await fetchFullImage(db, transport, 'b-400'))?.size).toBe(400);
    expect(transport.downloads).toEqual(['a-400', 'b-400', 'c-400', 'b-400']);
    expect(await hashes(db)).toEqual(['b-400', 'c-400']);
    expect(await fetchFullImage(db, transport, 'missing-1')).toBeNull();
  });

  it("this device's own photos count once sent, and only then", async () => {
    const db = await freshDb();
    await setPhotoBudget(db, 1000);
    await db.put('attachments', entry('downloaded', 600, { minute: 1 }));
    await db.put('attachments', entry('own', 700, { minute: 2, uploaded: false }));
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 0, bytes: 0 });
    const report = await runPhotoTransfer({ db, attachments: server(), lockName: `budget-photos-${dbCount}` });
    expect(report).toMatchObject({ uploaded: 1, error: null });
    // Sent: 1300 bytes kept offline; the older one goes, the person's own photo (newer) stays.
    expect(await hashes(db)).toEqual(['own']);
    expect(await db.get('attachments', 'own')).toMatchObject({ uploaded: true });
  });

  it('an image that stands in for a thumbnail is kept with the thumbnails', async () => {
    const db = await freshDb();
    await setPhotoBudget(db, 0);
    await db.put('records', {
      entityType: 'update',
      entityId: '00000000-0000-4000-8000-000000000009',
      fields: { attachments: [{ hash: 'nothumb-300', type: 'image/jpeg', size: 300 }] },
      deletedAt: null,
    } as never);
    expect((await downloadThumbnails(db, server())).downloaded).toBe(1);
    expect(await db.get('attachments', 'nothumb-300')).toMatchObject({ role: 'full', shownSmall: true });
    expect(await enforcePhotoBudget(db)).toEqual({ photos: 0, bytes: 0 });
    expect(await hashes(db)).toEqual(['nothumb-300']);
  });
});
