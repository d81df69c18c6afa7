/**
 * The photo upload queue and thumbnail downloads against an in-memory server
 * that keeps the /api/attachments rules (offset must match, complete at the
 * last byte, 404 unknown, 409 while uploading), and the IndexedDB upgrade
 * that added the attachments store.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import type { AttachmentRef, PullResponse, PushResponse, SyncRecord } from '@lifeline/core';
import { ApiError } from '$lib/api/client';
import type { Endpoints } from '$lib/api/endpoints';
import { getMeta, openLifelineDb, type AttachmentBlob, type LifelineDb } from '$lib/db';
import { runSync } from '$lib/sync/engine';
import { writeFields } from '$lib/sync/outbox';
import { downloadThumbnails, fetchFullImage, uploadPending, type UploadProgress } from './queue';
import { failedSummary, failedUploads, removeFailed, retryFailed, uploadFailureOf } from './failed';
import { pendingSummary, sha256Hex } from './store';
import type { AttachmentTransport } from './transport';

const PIECE = 1000;

interface Stored {
  size: number;
  bytes: Uint8Array<ArrayBuffer>;
  received: number;
  complete: boolean;
}

/** The server's side of the protocol, with hooks to cut the network or race another writer. */
class FakeServer implements AttachmentTransport {
  files = new Map<string, Stored>();
  patches: Array<{ hash: string; offset: number; length: number }> = [];
  /** Every PATCH asked for, refused ones included. */
  attempts: Array<{ hash: string; offset: number }> = [];
  /** Called before each PATCH is applied; may throw (network) or move the offset (another writer). */
  beforePatch: (hash: string, offset: number, patchNumber: number) => void = () => undefined;
  /** Called before each declaration; may throw (a refusal: too large, no room). */
  beforeDeclare: (hash: string) => void = () => undefined;
  declared: string[] = [];

  async declare(hash: string, size: number) {
    this.declared.push(hash);
    this.beforeDeclare(hash);
    let file = this.files.get(hash);
    if (!file) {
      file = { size, bytes: new Uint8Array(size), received: 0, complete: false };
      this.files.set(hash, file);
    }
    return { offset: file.received, complete: file.complete };
  }

  async offset(hash: string) {
    const file = this.files.get(hash);
    if (!file) throw new ApiError(404, 'not_found', 'attachment not found');
    return file.received;
  }

  async append(hash: string, offset: number, piece: Blob) {
    this.attempts.push({ hash, offset });
    this.beforePatch(hash, offset, this.patches.length + 1);
    const file = this.files.get(hash);
    if (!file) throw new ApiError(404, 'not_found', 'attachment not found');
    if (offset !== file.received) {
      throw new ApiError(409, 'offset_mismatch', 'send from there', { offset: file.received });
    }
    const bytes = new Uint8Array(await piece.arrayBuffer());
    this.patches.push({ hash, offset, length: bytes.length });
    file.bytes.set(bytes, offset);
    file.received += bytes.length;
    if (file.received === file.size) {
      if ((await sha256Hex(new Blob([file.bytes]))) !== hash) {
        file.received = 0;
        throw new ApiError(422, 'hash_mismatch', 'starts again', { offset: 0 });
      }
      file.complete = true;
    }
    return { offset: file.received, complete: file.complete };
  }

  async download(hash: string) {
    const file = this.files.get(hash);
    if (!file) throw new ApiError(404, 'not_found', 'attachment not found');
    if (!file.complete) throw new ApiError(409, 'incomplete', 'still uploading');
    return new Blob([file.bytes], { type: 'image/jpeg' });
  }

  /** What another device sent: present and complete. */
  async seed(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
    const hash = await sha256Hex(new Blob([bytes]));
    this.files.set(hash, { size: bytes.length, bytes, received: bytes.length, complete: true });
    return hash;
  }
}

let dbCount = 0;
const freshDb = () => openLifelineDb(`attachments-${Date.now()}-${(dbCount += 1)}`);

function bytesOf(length: number, seed: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 251);
}

async function photoBlob(length: number, seed: number, role: AttachmentBlob['role'] = 'full'): Promise<AttachmentBlob> {
  const blob = new Blob([bytesOf(length, seed)], { type: 'image/jpeg' });
  return {
    hash: await sha256Hex(blob),
    blob,
    type: 'image/jpeg',
    size: blob.size,
    width: 10,
    height: 10,
    role,
    uploaded: false,
    storedAt: new Date(Date.UTC(2030, 0, 1, 0, seed)).toISOString(),
  };
}

async function serverBytes(server: FakeServer, hash: string): Promise<Uint8Array> {
  return server.files.get(hash)!.bytes;
}

async function uploaded(db: LifelineDb, hash: string): Promise<boolean | undefined> {
  return (await db.get('attachments', hash))?.uploaded;
}

describe('photo upload queue', () => {
  it('sends every pending blob in pieces, thumbnails first, and marks each uploaded only when complete', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(2500, 1, 'full');
    const thumb = await photoBlob(700, 2, 'thumbnail');
    await db.put('attachments', full);
    await db.put('attachments', thumb);
    expect(await pendingSummary(db)).toEqual({ photos: 1, files: 0, bytes: 3200 });

    const progress: UploadProgress[] = [];
    const report = await uploadPending(db, server, { pieceBytes: PIECE, onProgress: (p) => progress.push(p) });

    expect(report).toEqual({ uploaded: 2, refused: 0, failed: 0, stoppedBy: null });
    expect(server.patches.map((p) => [p.hash === thumb.hash ? 'thumb' : 'full', p.offset])).toEqual([
      ['thumb', 0],
      ['full', 0],
      ['full', 1000],
      ['full', 2000],
    ]);
    expect(await serverBytes(server, full.hash)).toEqual(bytesOf(2500, 1));
    expect(await uploaded(db, full.hash)).toBe(true);
    expect(await uploaded(db, thumb.hash)).toBe(true);
    expect(await pendingSummary(db)).toEqual({ photos: 0, files: 0, bytes: 0 });
    expect(progress[0]).toEqual({ photosSent: 0, photosTotal: 1, bytesLeft: 3200 });
    expect(progress.at(-1)).toEqual({ photosSent: 1, photosTotal: 1, bytesLeft: 0 });
  });

  it("resumes from the server's offset (as its declaration answers), not from 0 or from what this device last sent", async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(3500, 3);
    await db.put('attachments', full);
    // An earlier run (or a reload) got 2000 bytes to the server before the connection went.
    await server.declare(full.hash, full.size);
    await server.append(full.hash, 0, full.blob.slice(0, 2000));
    server.patches = [];
    server.attempts = [];

    const report = await uploadPending(db, server, { pieceBytes: PIECE });

    expect(report.uploaded).toBe(1);
    // Straight from where the server stands: no refused PATCH on the way.
    expect(server.attempts.map((p) => p.offset)).toEqual([2000, 3000]);
    expect(server.patches.map((p) => p.offset)).toEqual([2000, 3000]);
    expect(server.patches.reduce((sum, p) => sum + p.length, 0)).toBe(1500);
    expect(await serverBytes(server, full.hash)).toEqual(bytesOf(3500, 3));
    expect(await uploaded(db, full.hash)).toBe(true);
  });

  it('goes on from the offset a 409 offset_mismatch names when another writer got there first', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(3000, 4);
    await db.put('attachments', full);
    let raced = false;
    server.beforePatch = (hash, offset) => {
      // Another tab sends the same photo's first two pieces between our HEAD and our PATCH.
      if (raced || offset !== 0) return;
      raced = true;
      const file = server.files.get(hash)!;
      file.bytes.set(bytesOf(3000, 4).subarray(0, 2000), 0);
      file.received = 2000;
    };

    const report = await uploadPending(db, server, { pieceBytes: PIECE });

    expect(report).toEqual({ uploaded: 1, refused: 0, failed: 0, stoppedBy: null });
    expect(server.patches.map((p) => p.offset)).toEqual([2000]);
    expect(await serverBytes(server, full.hash)).toEqual(bytesOf(3000, 4));
    expect(await uploaded(db, full.hash)).toBe(true);
  });

  it('stops at a network failure without marking anything uploaded that is not, and the next run resumes', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const first = await photoBlob(2500, 5);
    const second = await photoBlob(1500, 6);
    await db.put('attachments', first);
    await db.put('attachments', second);
    server.beforePatch = (_hash, _offset, n) => {
      if (n === 2) throw new ApiError(0, 'network', 'Cannot reach the server.');
    };

    // One file at a time, so "never started" below is well defined.
    const cut = await uploadPending(db, server, { pieceBytes: PIECE, uploadsAtOnce: 1 });

    expect(cut.uploaded).toBe(0);
    expect(cut.stoppedBy?.status).toBe(0);
    expect(server.patches).toHaveLength(1);
    expect(await uploaded(db, first.hash)).toBe(false);
    expect(await uploaded(db, second.hash)).toBe(false);
    // The second photo was never started: the run stopped rather than hammering a dead link.
    expect(server.files.has(second.hash)).toBe(false);
    expect(await pendingSummary(db)).toEqual({ photos: 2, files: 0, bytes: 4000 });

    server.beforePatch = () => undefined;
    server.patches = [];
    server.attempts = [];
    const resumed = await uploadPending(db, server, { pieceBytes: PIECE });

    expect(resumed).toEqual({ uploaded: 2, refused: 0, failed: 0, stoppedBy: null });
    // Only the piece that had arrived is not sent again.
    expect(server.attempts.filter((p) => p.hash === first.hash).map((p) => p.offset)).toEqual([1000, 2000]);
    expect(await serverBytes(server, first.hash)).toEqual(bytesOf(2500, 5));
    expect(await uploaded(db, first.hash)).toBe(true);
    expect(await uploaded(db, second.hash)).toBe(true);
  });

  it.each([
    ['PATCH', 415, 'unsupported_type', 'the server does not accept this kind of file'],
    ['declare', 413, 'attachment_too_large', 'it is larger than the server accepts'],
    ['declare', 413, 'quota_exceeded', "the community's storage on the server is full"],
    ['declare', 409, 'size_mismatch', 'the server holds a different file under the same name'],
  ] as const)(
    'marks a file refused for good at %s (%i %s) failed, with its reason, never retries it, and sends the others',
    async (where, status, code, reason) => {
      const refusal = new ApiError(status, code, 'refused');
      const db = await freshDb();
      const server = new FakeServer();
      const refused = await photoBlob(1200, 7);
      const fine = await photoBlob(800, 8);
      await db.put('attachments', refused);
      await db.put('attachments', fine);
      const refuse = (hash: string) => {
        if (hash === refused.hash) throw refusal;
      };
      if (where === 'PATCH') server.beforePatch = refuse;
      else server.beforeDeclare = refuse;

      const progress: UploadProgress[] = [];
      // One at a time, the refused one first: the other is not held up behind it.
      const report = await uploadPending(db, server, {
        pieceBytes: PIECE,
        uploadsAtOnce: 1,
        onProgress: (p) => progress.push(p),
      });

      expect(report).toEqual({ uploaded: 1, refused: 0, failed: 1, stoppedBy: null });
      expect(await uploaded(db, refused.hash)).toBe(false);
      expect(await uploaded(db, fine.hash)).toBe(true);
      expect((await db.get('attachments', refused.hash))?.failed).toMatchObject({ code: refusal.code, reason });
      // Neither waiting nor in the progress figures; counted as failed instead.
      expect(await pendingSummary(db)).toEqual({ photos: 0, files: 0, bytes: 0 });
      expect(progress.at(-1)).toEqual({ photosSent: 1, photosTotal: 1, bytesLeft: 0 });
      expect(await failedSummary(db)).toEqual({ count: 1, photos: 1, files: 0, reasons: [reason] });
      const ref = { hash: refused.hash, type: 'image/jpeg' as const, size: refused.size };
      expect(await uploadFailureOf(db, ref)).toMatchObject({ reason });

      // The next syncs leave it alone: not declared, not patched.
      server.declared = [];
      server.attempts = [];
      expect(await uploadPending(db, server, { pieceBytes: PIECE })).toEqual({
        uploaded: 0,
        refused: 0,
        failed: 0,
        stoppedBy: null,
      });
      expect(server.declared).toEqual([]);
      expect(server.attempts).toEqual([]);
    },
  );

  it('starts over once after a hash_mismatch, then marks the file failed when it arrives damaged again', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const good = await photoBlob(1500, 9);
    // Stored bytes that no longer hash to their name (a damaged copy): every complete upload mismatches.
    const damaged = { ...(await photoBlob(1500, 10)), blob: new Blob([bytesOf(1500, 11)], { type: 'image/jpeg' }) };
    await db.put('attachments', damaged);
    await db.put('attachments', good);

    const report = await uploadPending(db, server, { pieceBytes: PIECE, uploadsAtOnce: 1 });

    expect(report).toEqual({ uploaded: 1, refused: 0, failed: 1, stoppedBy: null });
    // Sent twice from 0, no more.
    expect(server.attempts.filter((a) => a.hash === damaged.hash).map((a) => a.offset)).toEqual([0, 1000, 0, 1000]);
    expect((await db.get('attachments', damaged.hash))?.failed).toMatchObject({
      code: 'hash_mismatch',
      reason: 'it arrived damaged twice',
    });
    expect(await uploaded(db, good.hash)).toBe(true);
  });

  it('sends a file after one hash_mismatch (damaged on the way once) and does not mark it failed', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(1500, 12);
    await db.put('attachments', full);
    let damagedOnce = false;
    server.beforePatch = (hash, offset) => {
      if (damagedOnce || offset !== 1000) return;
      damagedOnce = true;
      server.files.get(hash)!.received = 0;
      throw new ApiError(422, 'hash_mismatch', 'starts again', { offset: 0 });
    };

    expect(await uploadPending(db, server, { pieceBytes: PIECE })).toEqual({
      uploaded: 1,
      refused: 0,
      failed: 0,
      stoppedBy: null,
    });
    expect(await db.get('attachments', full.hash)).toMatchObject({ uploaded: true });
    expect((await db.get('attachments', full.hash))?.failed).toBeUndefined();
  });

  it.each([
    new ApiError(0, 'network', 'Cannot reach the server.'),
    new ApiError(401, 'unauthorized', 'sign in'),
    new ApiError(403, 'device_suspended', 'suspended'),
    new ApiError(429, 'rate_limited', 'slow down'),
    new ApiError(503, 'unavailable', 'later'),
  ])('stops at $status $code, marks nothing failed, and sends it at the next sync', async (trouble) => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(1500, 13);
    await db.put('attachments', full);
    server.beforeDeclare = () => {
      throw trouble;
    };

    const stopped = await uploadPending(db, server, { pieceBytes: PIECE });

    expect(stopped).toMatchObject({ uploaded: 0, failed: 0, stoppedBy: trouble });
    expect(await failedUploads(db)).toEqual([]);
    expect(await pendingSummary(db)).toEqual({ photos: 1, files: 0, bytes: 1500 });
    server.beforeDeclare = () => undefined;
    expect((await uploadPending(db, server, { pieceBytes: PIECE })).uploaded).toBe(1);
  });

  it('leaves a file refused only this time (400 size_exceeded) pending, and sends it at the next sync', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const full = await photoBlob(1500, 14);
    await db.put('attachments', full);
    server.beforePatch = () => {
      throw new ApiError(400, 'size_exceeded', 'declared with fewer bytes', { offset: 0 });
    };

    expect(await uploadPending(db, server, { pieceBytes: PIECE })).toMatchObject({
      uploaded: 0,
      refused: 1,
      failed: 0,
    });
    expect(await failedUploads(db)).toEqual([]);
    server.beforePatch = () => undefined;
    expect((await uploadPending(db, server, { pieceBytes: PIECE })).uploaded).toBe(1);
  });

  it('sends a failed file again when the person retries, and removes it from the device when asked', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const first = await photoBlob(1200, 15);
    const second = await photoBlob(900, 16);
    await db.put('attachments', first);
    await db.put('attachments', second);
    server.beforeDeclare = () => {
      throw new ApiError(413, 'quota_exceeded', 'full');
    };
    expect((await uploadPending(db, server, { pieceBytes: PIECE })).failed).toBe(2);

    // Room was made on the server: retry both, one goes through and the other is refused again.
    expect(await retryFailed(db)).toBe(2);
    expect(await pendingSummary(db)).toEqual({ photos: 2, files: 0, bytes: 2100 });
    server.beforeDeclare = (hash) => {
      if (hash === second.hash) throw new ApiError(415, 'unsupported_type', 'no');
    };
    expect(await uploadPending(db, server, { pieceBytes: PIECE })).toMatchObject({ uploaded: 1, failed: 1 });
    expect(await uploaded(db, first.hash)).toBe(true);

    expect(await removeFailed(db, null)).toBe(1);
    expect(await db.get('attachments', second.hash)).toBeUndefined();
    expect(await db.get('attachments', first.hash)).toBeDefined();
    expect(await failedSummary(db)).toEqual({ count: 0, photos: 0, files: 0, reasons: [] });
  });
});

const T0 = Date.UTC(2030, 0, 1);

function updateRecord(id: string, attachments: AttachmentRef[]): SyncRecord {
  const stamp = `${String(T0).padStart(15, '0')}:00000:other`;
  const fields = { kind: 'need', title: 'With photos', attachments };
  return {
    entityType: 'update',
    entityId: id,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, stamp])),
    version: 1,
    deletedAt: null,
    updatedAt: new Date(T0).toISOString(),
  };
}

describe('photo downloads', () => {
  it('fetches the thumbnails records name, says which are still on their way, and gets those at a later sync', async () => {
    const db = await freshDb();
    const server = new FakeServer();
    const thumbHere = await server.seed(bytesOf(300, 9));
    const fullHere = await server.seed(bytesOf(900, 10));
    const lateThumb = bytesOf(300, 11);
    const lateThumbHash = await sha256Hex(new Blob([lateThumb]));
    const ref = (hash: string, thumbnailHash: string): AttachmentRef => ({
      hash,
      type: 'image/jpeg',
      size: 900,
      thumbnailHash,
    });
    await db.put(
      'records',
      updateRecord('00000000-0000-4000-8000-000000000001', [
        ref(fullHere, thumbHere),
        ref('f'.repeat(64), lateThumbHash),
      ]),
    );

    expect(await downloadThumbnails(db, server)).toEqual({ downloaded: 1, onItsWay: 1, stoppedBy: null });
    const kept = await db.get('attachments', thumbHere);
    expect(kept).toMatchObject({ role: 'thumbnail', uploaded: true, size: 300 });
    expect(new Uint8Array(await kept!.blob.arrayBuffer())).toEqual(bytesOf(300, 9));
    // The full image only when someone opens it.
    expect(await db.get('attachments', fullHere)).toBeUndefined();

    // Its device uploads it later: the next sync brings it.
    await server.seed(lateThumb);
    expect(await downloadThumbnails(db, server)).toEqual({ downloaded: 1, onItsWay: 0, stoppedBy: null });
    expect(await downloadThumbnails(db, server)).toEqual({ downloaded: 0, onItsWay: 0, stoppedBy: null });

    // Opening a photo fetches the full image once and keeps it for offline use.
    const opened = await fetchFullImage(db, server, fullHere);
    expect(opened?.size).toBe(900);
    expect(await db.get('attachments', fullHere)).toMatchObject({ role: 'full', uploaded: true });
    expect(await fetchFullImage(db, server, 'e'.repeat(64))).toBeNull();
  });
});

describe('photos with the sync engine', () => {
  /** Endpoints that accept every push and pull nothing, counting calls. */
  function acceptingApi(): Endpoints & { pushes: number } {
    const api = {
      pushes: 0,
      push: async (_clientId: string, changes: Array<{ changeId: string }>): Promise<PushResponse> => {
        api.pushes += 1;
        return {
          results: changes.map((c) => ({ changeId: c.changeId, status: 'applied', version: 1 })),
          serverTime: new Date().toISOString(),
        } as PushResponse;
      },
      pull: async (): Promise<PullResponse> =>
        ({ records: [], cursor: 'server-1@0', hasMore: false, serverTime: new Date().toISOString() }) as PullResponse,
    };
    return api as unknown as Endpoints & { pushes: number };
  }

  it('keeps the photo with the edit in one write, and a failed upload neither fails nor holds up the records', async () => {
    const db = await freshDb();
    const full = await photoBlob(1500, 12, 'full');
    const thumb = await photoBlob(400, 13, 'thumbnail');
    const ref: AttachmentRef = { hash: full.hash, type: 'image/jpeg', size: full.size, thumbnailHash: thumb.hash };
    await writeFields(db, null, {
      entityType: 'update',
      entityId: '00000000-0000-4000-8000-000000000002',
      fields: { kind: 'need', title: 'Photo of the bridge', attachments: [ref] },
      seen: {},
      blobs: [thumb, full],
    });
    expect(await db.count('outbox')).toBe(1);
    expect(await pendingSummary(db)).toEqual({ photos: 1, files: 0, bytes: 1900 });

    const server = new FakeServer();
    server.beforePatch = () => {
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    };
    const api = acceptingApi();
    const report = await runSync({ db, api, reason: 'test', attachments: server, lockName: `t-${Date.now()}` });

    expect(report).toMatchObject({ ok: true, pushed: 1, photosUploaded: 0, error: null });
    expect(await db.count('outbox')).toBe(0);
    expect(await getMeta(db, 'lastError')).toBeNull();
    expect(await pendingSummary(db)).toEqual({ photos: 1, files: 0, bytes: 1900 });

    server.beforePatch = () => undefined;
    const again = await runSync({ db, api, reason: 'test', attachments: server, lockName: `t-${Date.now()}` });
    expect(again).toMatchObject({ ok: true, pushed: 0, photosUploaded: 2 });
    expect(await pendingSummary(db)).toEqual({ photos: 0, files: 0, bytes: 0 });
  });
});

describe('IndexedDB upgrade to version 5', () => {
  it('keeps the records, outbox, meta and re-pull marks of a version 4 database, and adds the attachments store', async () => {
    const name = `upgrade5-${Date.now()}`;
    const old = await openDB(name, 4, {
      upgrade(database) {
        const records = database.createObjectStore('records', { keyPath: ['entityType', 'entityId'] });
        records.createIndex('byType', 'entityType');
        records.createIndex('byTypeCreated', ['entityType', 'fields.createdAt']);
        const outbox = database.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        outbox.createIndex('byEntity', ['change.entityType', 'change.entityId']);
        database.createObjectStore('meta');
        database.createObjectStore('needsAttention', { keyPath: 'changeId' });
        database.createObjectStore('syncLog', { keyPath: 'id', autoIncrement: true });
        database.createObjectStore('repullSeen', { keyPath: ['entityType', 'entityId'] });
      },
    });
    const record = updateRecord('00000000-0000-4000-8000-000000000003', []);
    await old.put('records', record);
    await old.add('outbox', { change: { changeId: 'kept-change' }, userId: 'u1' });
    await old.put('meta', 'server-1@7', 'cursor');
    await old.put('repullSeen', { entityType: 'update', entityId: record.entityId, epoch: 'e1', behind: {} });
    old.close();

    const db = await openLifelineDb(name);
    expect(db.version).toBe(5);
    expect(await db.get('records', ['update', record.entityId])).toEqual(record);
    expect(await db.getAll('outbox')).toEqual([{ seq: 1, change: { changeId: 'kept-change' }, userId: 'u1' }]);
    expect(await getMeta(db, 'cursor')).toBe('server-1@7');
    expect(await db.count('repullSeen')).toBe(1);
    expect([...db.objectStoreNames]).toContain('attachments');
    expect(await db.count('attachments')).toBe(0);
    const photo = await photoBlob(10, 14);
    await db.put('attachments', photo);
    expect(await pendingSummary(db)).toEqual({ photos: 1, files: 0, bytes: 10 });
  });
});
