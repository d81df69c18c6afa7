/**
 * The upload queue through the real transport against the real backend
 * (started here on a fresh Postgres database): headers, the 409 that names
 * the server's offset, resuming, and a second member's download.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '$lib/api/client';
import { endpoints } from '$lib/api/endpoints';
import { openLifelineDb, type AttachmentBlob } from '$lib/db';
import { startBackend, type RunningBackend } from '../../../../tests/e2e/server';
import { downloadThumbnails, fetchFullImage, uploadPending } from './queue';
import { sha256Hex } from './store';
import { createAttachmentTransport } from './transport';

let backend: RunningBackend;
const admin = { email: 'photos-admin@test.example', password: 'photos-password-1', displayName: 'Photo Admin' };
const volunteer = { email: 'photos-vol@test.example', password: 'photos-password-2', displayName: 'Vol' };

/** A fetch with its own cookie jar that sends Origin, as a browser tab on the app's origin does. */
function browserLikeFetch(origin: string): typeof fetch {
  let cookie = '';
  return (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('origin', origin);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(input, { ...init, headers });
    const set = response.headers.getSetCookie().map((c) => c.split(';')[0]!);
    if (set.length > 0) cookie = set.join('; ');
    return response;
  }) as typeof fetch;
}

async function signedIn(person: { email: string; password: string }) {
  const f = browserLikeFetch(backend.baseUrl);
  await endpoints(createApiClient({ baseUrl: backend.baseUrl, fetch: f })).login(person.email, person.password);
  return createAttachmentTransport({ baseUrl: backend.baseUrl, fetch: f });
}

/** Bytes the server sniffs as a JPEG (it checks the start) and that no other test sends. */
async function jpegBlob(length: number, seed: number): Promise<AttachmentBlob> {
  const bytes = Uint8Array.from({ length }, (_, i) => (i * 7 + seed * 13 + (i >> 8)) % 256);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  const blob = new Blob([bytes], { type: 'image/jpeg' });
  return {
    hash: await sha256Hex(blob),
    blob,
    type: 'image/jpeg',
    size: length,
    role: 'full',
    uploaded: false,
    storedAt: new Date().toISOString(),
  };
}

let dbCount = 0;
const freshDb = () => openLifelineDb(`transport-${Date.now()}-${(dbCount += 1)}`);

beforeAll(async () => {
  backend = await startBackend('fe_photos');
  const setup = endpoints(createApiClient({ baseUrl: backend.baseUrl, fetch: browserLikeFetch(backend.baseUrl) }));
  await setup.setup({ community: 'Photo test', ...admin });
  const f = browserLikeFetch(backend.baseUrl);
  const api = endpoints(createApiClient({ baseUrl: backend.baseUrl, fetch: f }));
  await api.login(admin.email, admin.password);
  await api.createUser({ ...volunteer, role: 'volunteer' });
}, 90_000);

afterAll(async () => {
  await backend?.stop();
});

describe('photo upload against the real backend', () => {
  it('resumes from what the server holds, corrects a stale offset, and another member downloads the bytes', async () => {
    const transport = await signedIn(volunteer);
    const db = await freshDb();
    const photo = await jpegBlob(1_300_000, 1);
    await db.put('attachments', photo);

    // An earlier attempt got the first piece through before the link went.
    expect(await transport.declare(photo.hash, photo.size)).toEqual({ offset: 0, complete: false });
    expect(await transport.append(photo.hash, 0, photo.blob.slice(0, 524_288))).toEqual({
      offset: 524_288,
      complete: false,
    });
    expect(await transport.offset(photo.hash)).toBe(524_288);
    // A PATCH from a stale offset is refused with where the server stands.
    await expect(transport.append(photo.hash, 0, photo.blob.slice(0, 10))).rejects.toMatchObject({
      status: 409,
      code: 'offset_mismatch',
      details: { offset: 524_288 },
    });

    const report = await uploadPending(db, transport);
    expect(report).toEqual({ uploaded: 1, refused: 0, failed: 0, stoppedBy: null });
    expect((await db.get('attachments', photo.hash))?.uploaded).toBe(true);
    expect(await transport.declare(photo.hash, photo.size)).toEqual({ offset: photo.size, complete: true });

    const reader = await signedIn(admin);
    const readerDb = await freshDb();
    const full = await fetchFullImage(readerDb, reader, photo.hash);
    expect(full?.size).toBe(photo.size);
    expect(await sha256Hex(full!.blob)).toBe(photo.hash);
  });

  it('calls a photo that has not arrived "on its way" (404 unknown, 409 still uploading)', async () => {
    const transport = await signedIn(volunteer);
    const partial = await jpegBlob(2000, 2);
    await transport.declare(partial.hash, partial.size);
    await transport.append(partial.hash, 0, partial.blob.slice(0, 1000));
    const db = await freshDb();
    await db.put('records', {
      entityType: 'update',
      entityId: crypto.randomUUID(),
      fields: {
        title: 'Waiting',
        attachments: [
          { hash: partial.hash, type: 'image/jpeg', size: 2000 },
          { hash: 'a'.repeat(64), type: 'image/jpeg', size: 10 },
        ],
      },
      stamps: {},
      version: 1,
      deletedAt: null,
      updatedAt: new Date().toISOString(),
    });
    expect(await downloadThumbnails(db, transport)).toEqual({ downloaded: 0, onItsWay: 2, stoppedBy: null });
    expect(await fetchFullImage(db, transport, partial.hash)).toBeNull();
  });
});
