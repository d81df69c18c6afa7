/**
 * Attachments over HTTP against the real server on real Postgres: declare,
 * resumable upload, verification at the last byte, serving with safe
 * headers, and every refusal answered with its code while what was stored
 * stays as it was. Plus the limits, community isolation and embedded PGlite.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asHub,
  asMember,
  AttachmentClient,
  makeJpeg,
  makePdf,
  makePng,
  sha256,
  type RawReply,
} from '../helpers/attachment-files';
import { ConfigError, loadConfig } from '../../backend/src/config';
import { ApiClient, seedCommunity } from '../helpers/client';
import { until } from '../helpers/wait';
import { startTestServer, type TestServer } from '../helpers/server';

const MiB = 1024 * 1024;

let server: TestServer;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
/** The volunteer of Eastside. */
let east: AttachmentClient;
/** The admin of Westside, a second community on the same server. */
let west: AttachmentClient;
let westCommunityId: string;

beforeAll(async () => {
  server = await startTestServer({ OPERATOR_TOKEN: 'operator-token-for-attachments' });
  seeded = await seedCommunity(server.url);
  east = new AttachmentClient(server.url, asMember(seeded.volunteer.client.sessionCookie));
  const operator = new ApiClient(server.url);
  const created = await operator.post(
    '/api/communities',
    { name: 'Westside', admin: { email: 'wes@westside.example', password: 'password-123', displayName: 'Wes' } },
    { authorization: 'Bearer operator-token-for-attachments' },
  );
  expect(created.status).toBe(201);
  westCommunityId = created.body.community.id;
  const westMember = new ApiClient(server.url);
  expect(
    (await westMember.post('/api/auth/login', { email: 'wes@westside.example', password: 'password-123' })).status,
  ).toBe(200);
  west = new AttachmentClient(server.url, asMember(westMember.sessionCookie));
});
afterAll(async () => server?.stop());

const errorOf = (reply: RawReply) => ({ status: reply.status, code: reply.body?.error?.code as string | undefined });

/** Rows and stored bytes for one hash, in every community or one. */
async function stored(hash: string, communityId?: string) {
  const where = communityId ? 'AND community_id = $2' : '';
  const params = communityId ? [hash, communityId] : [hash];
  const rows = await server.server.ctx.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM attachments WHERE hash = $1 ${where}`,
    params,
  );
  const chunks = await server.server.ctx.db.query<{ n: number; bytes: number | null }>(
    `SELECT count(*)::int AS n, sum(octet_length(data))::bigint AS bytes FROM attachment_chunks WHERE hash = $1 ${where}`,
    params,
  );
  return { rows: rows.rows[0]!.n, chunks: chunks.rows[0]!.n, bytes: Number(chunks.rows[0]!.bytes ?? 0) };
}

async function expectDownloads(client: AttachmentClient, file: Uint8Array) {
  const reply = await client.get(sha256(file));
  expect(reply.status).toBe(200);
  expect(reply.bytes.length).toBe(file.length);
  expect(sha256(reply.bytes)).toBe(sha256(file));
  return reply;
}

describe('upload in pieces, then download', () => {
  it('when a 2.6 MB PNG is sent in three PATCHes, then each answers where it stands and GET returns the same bytes with safe headers', async () => {
    const png = makePng(1000, 900);
    expect(png.length).toBeGreaterThan(2.5 * MiB);
    const hash = sha256(png);

    const declared = await east.declare({ hash, size: png.length, name: 'shelter photo.png' });
    expect(declared.status).toBe(201);
    expect(declared.body).toEqual({
      attachment: { hash, size: png.length, received: 0, complete: false, type: null, name: 'shelter photo.png' },
    });
    const head = await east.head(hash);
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('0');
    expect(head.headers.get('upload-length')).toBe(String(png.length));
    expect(head.headers.get('cache-control')).toBe('no-store');
    expect(head.bytes.length).toBe(0);

    // Uneven pieces: the first spans a stored 1 MiB chunk boundary, the second starts mid-chunk.
    const cuts = [0, MiB + 3, MiB + 700_003, png.length];
    for (let i = 0; i < cuts.length - 1; i += 1) {
      const reply = await east.patch(hash, cuts[i]!, png.subarray(cuts[i], cuts[i + 1]));
      const last = i === cuts.length - 2;
      expect(reply.status).toBe(last ? 200 : 204);
      expect(reply.headers.get('upload-offset')).toBe(String(cuts[i + 1]));
      if (!last) {
        expect(reply.bytes.length).toBe(0);
        expect(await east.offset(hash)).toBe(cuts[i + 1]);
        // Not served while it is uploading.
        const early = await east.get(hash);
        expect(errorOf(early)).toEqual({ status: 409, code: 'incomplete' });
        expect(early.body.error).toMatchObject({ received: cuts[i + 1], size: png.length });
      } else {
        expect(reply.body.attachment).toEqual({
          hash,
          size: png.length,
          received: png.length,
          complete: true,
          type: 'image/png',
          name: 'shelter photo.png',
        });
      }
    }

    const got = await expectDownloads(east, png);
    expect(Buffer.from(got.bytes).equals(png)).toBe(true);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-length')).toBe(String(png.length));
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(got.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(got.headers.get('content-disposition')).toBe(
      `inline; filename="shelter photo.png"; filename*=UTF-8''shelter%20photo.png`,
    );
    expect(got.headers.get('etag')).toBe(`"${hash}"`);
    expect(got.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(got.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    // Stored in pieces of at most 1 MiB, end to end.
    const pieces = cuts.slice(1).map((end, i) => Math.ceil((end - cuts[i]!) / MiB));
    expect(await stored(hash)).toEqual({ rows: 1, chunks: pieces.reduce((a, b) => a + b), bytes: png.length });
    // HEAD of a complete file: all of it.
    expect(await east.offset(hash)).toBe(png.length);
  });

  it('when the same file is declared again (by another member, then by a hub of the community), then 200 with it as it stands, stored once', async () => {
    const jpeg = makeJpeg(5000);
    const hash = sha256(jpeg);
    expect((await east.upload(jpeg)).status).toBe(200);
    const before = await stored(hash);
    expect(before).toEqual({ rows: 1, chunks: 1, bytes: jpeg.length });

    const coordinator = new AttachmentClient(server.url, asMember(seeded.coordinator.client.sessionCookie));
    const again = await coordinator.declare({ hash, size: jpeg.length, name: 'later name.jpg' });
    expect(again.status).toBe(200);
    // A missing name is filled in by a later declaration; the type stays what was sniffed.
    expect(again.body.attachment).toEqual({
      hash,
      size: jpeg.length,
      received: jpeg.length,
      complete: true,
      type: 'image/jpeg',
      name: 'later name.jpg',
    });
    const { apiKey } = (await seeded.admin.post('/api/devices', { name: 'School hub', kind: 'hub' })).body;
    const hub = new AttachmentClient(server.url, asHub(apiKey));
    const byHub = await hub.declare({ hash: hash.toUpperCase(), size: jpeg.length, name: 'ignored.jpg' });
    expect(byHub.status).toBe(200);
    expect(byHub.body.attachment.name).toBe('later name.jpg');
    // Sending it again changes nothing: the end of a complete file is acknowledged as complete.
    const finish = await hub.patch(hash, jpeg.length, new Uint8Array(0));
    expect(finish.status).toBe(200);
    expect(finish.body.attachment.complete).toBe(true);
    expect(await stored(hash)).toEqual(before);
    const got = await expectDownloads(hub, jpeg);
    expect(got.headers.get('content-type')).toBe('image/jpeg');
    expect(got.headers.get('content-disposition')).toBe(
      `inline; filename="later name.jpg"; filename*=UTF-8''later%20name.jpg`,
    );
  });

  it('when a PDF is uploaded, then it is served as a download, with a name that cannot make it another type', async () => {
    const pdf = makePdf();
    expect((await east.upload(pdf, 'report.html')).status).toBe(200);
    const got = await expectDownloads(east, pdf);
    expect(got.headers.get('content-type')).toBe('application/pdf');
    expect(got.headers.get('content-disposition')).toBe(
      `attachment; filename="report.html.pdf"; filename*=UTF-8''report.html.pdf`,
    );
    const unnamed = makeJpeg(300);
    expect((await east.upload(unnamed)).status).toBe(200);
    expect((await east.get(sha256(unnamed))).headers.get('content-disposition')).toBe(
      `inline; filename="attachment-${sha256(unnamed).slice(0, 12)}.jpg"; filename*=UTF-8''attachment-${sha256(unnamed).slice(0, 12)}.jpg`,
    );
  });

  it('when If-None-Match holds its ETag (or *), then 304 without a body; another tag gets the bytes', async () => {
    const png = makePng(20, 20);
    const hash = sha256(png);
    expect((await east.upload(png)).status).toBe(200);
    for (const tag of [`"${hash}"`, `W/"${hash}"`, `"other", "${hash}"`, '*']) {
      const reply = await east.get(hash, { 'if-none-match': tag });
      expect(reply.status, tag).toBe(304);
      expect(reply.bytes.length).toBe(0);
      expect(reply.headers.get('etag')).toBe(`"${hash}"`);
      expect(reply.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    }
    const other = await east.get(hash, { 'if-none-match': `"${'0'.repeat(64)}"` });
    expect(other.status).toBe(200);
    expect(Buffer.from(other.bytes).equals(png)).toBe(true);
  });

  it('when two PATCHes race at the same offset, then one is stored and the other told where the upload stands', async () => {
    const png = makePng(300, 300);
    const hash = sha256(png);
    expect((await east.declare({ hash, size: png.length })).status).toBe(201);
    const piece = png.subarray(0, 100_000);
    // Make them overlap for sure: hold back every chunk insert until both PATCHes are waiting in Postgres
    // (one on the insert, the other on the upload's row lock; without that lock, both on the insert).
    const blocker = new pg.Client({ connectionString: server.database!.url });
    await blocker.connect();
    let replies: RawReply[];
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE attachment_chunks IN EXCLUSIVE MODE');
      const racing = Promise.all([east.patch(hash, 0, piece), east.patch(hash, 0, piece)]);
      // pg_locks, not pg_stat_activity: that one is a snapshot taken once per transaction.
      await until('both PATCHes to wait in Postgres', async () => {
        const { rows } = await blocker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`,
        );
        return rows[0]!.n >= 2;
      });
      await blocker.query('ROLLBACK');
      replies = await racing;
    } finally {
      await blocker.end();
    }
    expect(replies.map((r) => r.status).sort()).toEqual([204, 409]);
    const refused = replies.find((r) => r.status === 409)!;
    expect(refused.body.error).toMatchObject({ code: 'offset_mismatch', offset: 100_000 });
    expect(await east.offset(hash)).toBe(100_000);
    expect((await east.patch(hash, 100_000, png.subarray(100_000))).status).toBe(200);
    await expectDownloads(east, png);
  });
});

describe('refusals leave what was stored unharmed', () => {
  /** Complete, served. */
  let done: Buffer;
  /** Declared at 9 MiB, with PARTIAL bytes received. */
  let partial: Buffer;
  const PARTIAL = 300_000;

  beforeAll(async () => {
    done = makePng(200, 200);
    expect((await east.upload(done, 'done.png')).status).toBe(200);
    partial = makePng(1800, 1800).subarray(0, 9 * MiB); // 3 bytes a pixel: a little over 9 MiB, cut to 9
    expect((await east.declare({ hash: sha256(partial), size: partial.length })).status).toBe(201);
    expect((await east.patch(sha256(partial), 0, partial.subarray(0, PARTIAL))).status).toBe(204);
  });

  /** After every refusal: the complete file downloads identically, the partial one stands where it was. */
  async function expectUnharmed(partialOffset = PARTIAL) {
    const got = await east.get(sha256(done));
    expect(got.status).toBe(200);
    expect(Buffer.from(got.bytes).equals(done)).toBe(true);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(await east.offset(sha256(done))).toBe(done.length);
    expect(await east.offset(sha256(partial))).toBe(partialOffset);
    expect(await stored(sha256(partial))).toEqual({ rows: 1, chunks: 1, bytes: partialOffset });
  }

  it.each([
    ['no hash', () => ({ size: 10 })],
    ['a short hash', () => ({ hash: 'abc123', size: 10 })],
    ['a hash that is not hex', () => ({ hash: 'g'.repeat(64), size: 10 })],
    ['a hash with a path in it', () => ({ hash: `../${'a'.repeat(61)}`, size: 10 })],
    ['no size', () => ({ hash: sha256(Buffer.from('x')) })],
    ['size 0', () => ({ hash: sha256(Buffer.from('x')), size: 0 })],
    ['a negative size', () => ({ hash: sha256(Buffer.from('x')), size: -5 })],
    ['a fractional size', () => ({ hash: sha256(Buffer.from('x')), size: 1.5 })],
    ['size as a string', () => ({ hash: sha256(Buffer.from('x')), size: '10' })],
    ['an empty name', () => ({ hash: sha256(Buffer.from('x')), size: 10, name: '   ' })],
    ['a name of 201 characters', () => ({ hash: sha256(Buffer.from('x')), size: 10, name: 'n'.repeat(201) })],
    ['a name with a control character', () => ({ hash: sha256(Buffer.from('x')), size: 10, name: 'a\u0000.png' })],
    ['a name that is a number', () => ({ hash: sha256(Buffer.from('x')), size: 10, name: 5 })],
    ['an array', () => [{ hash: sha256(Buffer.from('x')), size: 10 }]],
    ["the complete file's hash with a bad size", () => ({ hash: sha256(done), size: 'big' })],
  ])('when a declaration has %s, then 400 invalid_attachment and nothing is declared', async (_what, body) => {
    const reply = await east.declare(body());
    expect(errorOf(reply)).toEqual({ status: 400, code: 'invalid_attachment' });
    expect(reply.body).toEqual({ error: { code: 'invalid_attachment', message: expect.any(String) } });
    expect((await stored(sha256(Buffer.from('x')))).rows).toBe(0);
    await expectUnharmed();
  });

  it('when a file over ATTACHMENT_MAX_BYTES (10 MiB) is declared, then 413 attachment_too_large', async () => {
    const hash = sha256(Buffer.from('too large'));
    const reply = await east.declare({ hash, size: 10 * MiB + 1 });
    expect(errorOf(reply)).toEqual({ status: 413, code: 'attachment_too_large' });
    expect((await stored(hash)).rows).toBe(0);
    expect((await east.declare({ hash: sha256(partial), size: 10 * MiB + 1 })).status).toBe(413);
    await expectUnharmed();
  });

  it('when the complete file is declared with another size, then 409 size_mismatch', async () => {
    const reply = await east.declare({ hash: sha256(done), size: done.length + 1 });
    expect(errorOf(reply)).toEqual({ status: 409, code: 'size_mismatch' });
    await expectUnharmed();
  });

  it('when a PATCH is not at the upload offset (behind or ahead), then 409 offset_mismatch with the real offset', async () => {
    const hash = sha256(partial);
    for (const offset of [0, PARTIAL - 1, PARTIAL + 1, 5 * MiB]) {
      const reply = await east.patch(hash, offset, partial.subarray(offset, offset + 1000));
      expect(errorOf(reply), `offset ${offset}`).toEqual({ status: 409, code: 'offset_mismatch' });
      expect(reply.body.error.offset).toBe(PARTIAL);
      expect(reply.headers.get('upload-offset')).toBe(String(PARTIAL));
    }
    // Re-sending the start of a complete file.
    const again = await east.patch(sha256(done), 0, done.subarray(0, 1000));
    expect(errorOf(again)).toEqual({ status: 409, code: 'offset_mismatch' });
    expect(again.body.error.offset).toBe(done.length);
    await expectUnharmed();
  });

  it('when a PATCH would go past the declared size, then 400 size_exceeded', async () => {
    const jpeg = makeJpeg(5000);
    const hash = sha256(jpeg);
    expect((await east.declare({ hash, size: jpeg.length })).status).toBe(201);
    expect((await east.patch(hash, 0, jpeg.subarray(0, 1000))).status).toBe(204);
    const reply = await east.patch(hash, 1000, Buffer.concat([jpeg.subarray(1000), Buffer.from([0])]));
    expect(errorOf(reply)).toEqual({ status: 400, code: 'size_exceeded' });
    expect(reply.body.error.offset).toBe(1000);
    expect(reply.headers.get('upload-offset')).toBe('1000');
    expect(await east.offset(hash)).toBe(1000);
    expect(await stored(hash)).toEqual({ rows: 1, chunks: 1, bytes: 1000 });
    const extra = await east.patch(sha256(done), done.length, Buffer.from([1]));
    expect(errorOf(extra)).toEqual({ status: 400, code: 'size_exceeded' });
    await expectUnharmed();
    // The right rest still completes it.
    expect((await east.patch(hash, 1000, jpeg.subarray(1000))).status).toBe(200);
    await expectDownloads(east, jpeg);
  });

  it.each([
    ['application/octet-stream', { 'content-type': 'application/octet-stream' }],
    ['image/png', { 'content-type': 'image/png' }],
  ])('when a PATCH is sent as %s, then 415 unsupported_media_type', async (_type, headers) => {
    const reply = await east.patch(sha256(partial), PARTIAL, partial.subarray(PARTIAL, PARTIAL + 1000), headers);
    expect(errorOf(reply)).toEqual({ status: 415, code: 'unsupported_media_type' });
    await expectUnharmed();
  });

  it('when a PATCH has no Content-Type, then 415 unsupported_media_type', async () => {
    const response = await fetch(`${server.url}/api/attachments/${sha256(partial)}`, {
      method: 'PATCH',
      headers: { ...east.credentials, 'upload-offset': String(PARTIAL) },
      body: new Blob([new Uint8Array(partial.subarray(PARTIAL, PARTIAL + 10))]), // a Blob without a type sends no Content-Type
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    await expectUnharmed();
  });

  it('when a PATCH is sent as application/json (valid JSON, bytes, or broken JSON), then 415 unsupported_media_type and nothing is stored', async () => {
    const hash = sha256(partial);
    const asJson = await east.request('PATCH', `/api/attachments/${hash}`, '{"bytes":[1,2,3]}', {
      'content-type': 'application/json',
      'upload-offset': String(PARTIAL),
    });
    // Not invalid_json: the API's JSON parser leaves an upload piece to its route.
    const bytes = await east.patch(hash, PARTIAL, partial.subarray(PARTIAL, PARTIAL + 1000), {
      'content-type': 'application/json',
    });
    const broken = await east.request('PATCH', `/api/attachments/${hash}`, '{"bytes": [1, 2', {
      'content-type': 'application/json; charset=utf-8',
      'upload-offset': String(PARTIAL),
    });
    const text = await east.patch(hash, PARTIAL, partial.subarray(PARTIAL, PARTIAL + 1000), {
      'content-type': 'text/plain',
    });
    for (const reply of [asJson, bytes, broken, text]) {
      expect(errorOf(reply)).toEqual({ status: 415, code: 'unsupported_media_type' });
      // The contract's error shape.
      expect(reply.body).toEqual({ error: { code: 'unsupported_media_type', message: expect.any(String) } });
    }
    await expectUnharmed();
    // Elsewhere in the API broken JSON is still 400 invalid_json.
    const declare = await east.request('POST', '/api/attachments', '{"hash": ', { 'content-type': 'application/json' });
    expect(errorOf(declare)).toEqual({ status: 400, code: 'invalid_json' });
  });

  it('when a PATCH is over 4 MiB, then 413 payload_too_large; exactly 4 MiB is taken', async () => {
    const hash = sha256(partial);
    const big = await east.patch(hash, PARTIAL, partial.subarray(PARTIAL, PARTIAL + 4 * MiB + 1));
    expect(errorOf(big)).toEqual({ status: 413, code: 'payload_too_large' });
    await expectUnharmed();
    const four = await east.patch(hash, PARTIAL, partial.subarray(PARTIAL, PARTIAL + 4 * MiB));
    expect(four.status).toBe(204);
    expect(four.headers.get('upload-offset')).toBe(String(PARTIAL + 4 * MiB));
    expect(await stored(hash)).toEqual({ rows: 1, chunks: 5, bytes: PARTIAL + 4 * MiB });
    // The rest, then the file downloads whole: the offsets of the stored pieces fit end to end.
    expect(
      (await east.patch(hash, PARTIAL + 4 * MiB, partial.subarray(PARTIAL + 4 * MiB, PARTIAL + 8 * MiB))).status,
    ).toBe(204);
    const rest = await east.patch(hash, PARTIAL + 8 * MiB, partial.subarray(PARTIAL + 8 * MiB));
    expect(rest.status).toBe(200);
    await expectDownloads(east, partial);
    // Put the partial upload back for the tests after this one.
    partial = makePng(500, 500);
    expect((await east.declare({ hash: sha256(partial), size: partial.length })).status).toBe(201);
    expect((await east.patch(sha256(partial), 0, partial.subarray(0, PARTIAL))).status).toBe(204);
    await expectUnharmed();
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['negative', '-1'],
    ['not a number', 'abc'],
    ['fractional', '1.5'],
    ['hex', '0x10'],
    ['huge', '1'.repeat(16)],
  ])('when Upload-Offset is %s, then 400 invalid_offset', async (_what, offset) => {
    const reply = await east.patch(sha256(partial), offset, partial.subarray(PARTIAL, PARTIAL + 100));
    expect(errorOf(reply)).toEqual({ status: 400, code: 'invalid_offset' });
    await expectUnharmed();
  });

  it('when the hash in the path is not a SHA-256, then 400 invalid_attachment on HEAD, PATCH and GET', async () => {
    for (const hash of ['abc', 'z'.repeat(64), `${sha256(done)}0`]) {
      expect((await east.head(hash)).status).toBe(400);
      expect(errorOf(await east.patch(hash, 0, Buffer.from('x')))).toEqual({ status: 400, code: 'invalid_attachment' });
      expect(errorOf(await east.get(hash))).toEqual({ status: 400, code: 'invalid_attachment' });
    }
    await expectUnharmed();
  });

  it('when the hash is unknown here, then 404 not_found on HEAD, PATCH and GET', async () => {
    const hash = sha256(Buffer.from('never declared'));
    expect((await east.head(hash)).status).toBe(404);
    expect(errorOf(await east.patch(hash, 0, Buffer.from('never declared')))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(errorOf(await east.get(hash))).toEqual({ status: 404, code: 'not_found' });
    expect((await stored(hash)).rows).toBe(0);
    await expectUnharmed();
  });

  it('when the bytes do not hash to the declared name, then 422 hash_mismatch, the upload is back at 0, and a correct re-send succeeds', async () => {
    const good = makePng(400, 400);
    const hash = sha256(good);
    const wrong = Buffer.from(good);
    wrong[wrong.length - 20] = wrong[wrong.length - 20]! ^ 0xff; // one byte near the end
    expect((await east.declare({ hash, size: good.length, name: 'good.png' })).status).toBe(201);
    expect((await east.patch(hash, 0, wrong.subarray(0, 200_000))).status).toBe(204);
    const last = await east.patch(hash, 200_000, wrong.subarray(200_000));
    expect(errorOf(last)).toEqual({ status: 422, code: 'hash_mismatch' });
    expect(last.body.error.offset).toBe(0);
    expect(last.headers.get('upload-offset')).toBe('0');
    expect(last.body.error.message).toContain(sha256(wrong));
    expect(await east.offset(hash)).toBe(0);
    expect(await stored(hash)).toEqual({ rows: 1, chunks: 0, bytes: 0 });
    expect(errorOf(await east.get(hash))).toEqual({ status: 409, code: 'incomplete' });
    // The name and size declared are kept; the right bytes now complete it.
    expect((await east.patch(hash, 0, good.subarray(0, 100_000))).status).toBe(204);
    const fixed = await east.patch(hash, 100_000, good.subarray(100_000));
    expect(fixed.status).toBe(200);
    expect(fixed.body.attachment).toMatchObject({ complete: true, type: 'image/png', name: 'good.png' });
    await expectDownloads(east, good);
    await expectUnharmed();
  });

  it.each([
    ['SVG with a script', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'],
    ['SVG with an XML declaration', '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ['HTML', '<!doctype html><html><body><script>fetch("/api/users")</script></body></html>'],
    ['plain text', 'just some words, nothing to see here'],
    ['a PNG signature not at the start', ` \x89PNG\r\n\x1a\n${'x'.repeat(40)}`],
    ['an empty-looking GIF', 'GIF89a\x01\x00\x01\x00\x00\x00\x00;'],
  ])('when the bytes are %s, then 415 unsupported_type and the attachment is gone', async (_what, text) => {
    const bytes = Buffer.from(text, 'latin1');
    const hash = sha256(bytes);
    expect((await east.declare({ hash, size: bytes.length, name: 'photo.png' })).status).toBe(201);
    const reply = await east.patch(hash, 0, bytes);
    expect(errorOf(reply)).toEqual({ status: 415, code: 'unsupported_type' });
    expect((await east.head(hash)).status).toBe(404);
    expect(errorOf(await east.get(hash))).toEqual({ status: 404, code: 'not_found' });
    expect(await stored(hash)).toEqual({ rows: 0, chunks: 0, bytes: 0 });
    // Declared again, it starts afresh (and is refused again).
    expect((await east.declare({ hash, size: bytes.length })).status).toBe(201);
    expect(errorOf(await east.patch(hash, 0, bytes))).toEqual({ status: 415, code: 'unsupported_type' });
    await expectUnharmed();
  });

  it('when an unfinished upload is declared with another size, then it starts over at 0 expecting that size', async () => {
    const png = makePng(100, 100);
    const hash = sha256(png);
    expect((await east.declare({ hash, size: png.length + 10 })).status).toBe(201);
    expect((await east.patch(hash, 0, png.subarray(0, 1000))).status).toBe(204);
    const redeclared = await east.declare({ hash, size: png.length });
    expect(redeclared.status).toBe(200);
    expect(redeclared.body.attachment).toMatchObject({ size: png.length, received: 0, complete: false });
    expect(await stored(hash)).toEqual({ rows: 1, chunks: 0, bytes: 0 });
    expect((await east.upload(png)).status).toBe(200);
    await expectDownloads(east, png);
    await expectUnharmed();
  });
});

describe('communities and sign-in', () => {
  it('when another community holds a hash, then it is 404 here on HEAD, GET and PATCH, and theirs is unharmed', async () => {
    const theirs = makePng(150, 150);
    const hash = sha256(theirs);
    expect((await west.upload(theirs, 'west.png')).status).toBe(200);
    const unfinished = makeJpeg(50_000);
    expect((await west.declare({ hash: sha256(unfinished), size: unfinished.length })).status).toBe(201);
    expect((await west.patch(sha256(unfinished), 0, unfinished.subarray(0, 10_000))).status).toBe(204);

    for (const h of [hash, sha256(unfinished)]) {
      expect((await east.head(h)).status).toBe(404);
      expect(errorOf(await east.get(h))).toEqual({ status: 404, code: 'not_found' });
      expect(errorOf(await east.get(h, { 'if-none-match': `"${h}"` }))).toEqual({ status: 404, code: 'not_found' });
    }
    // Appending to theirs, at their offset or ours, is refused as unknown.
    expect(errorOf(await east.patch(hash, theirs.length, new Uint8Array(0)))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(errorOf(await east.patch(hash, 0, theirs))).toEqual({ status: 404, code: 'not_found' });
    expect(errorOf(await east.patch(sha256(unfinished), 10_000, unfinished.subarray(10_000)))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(await west.offset(sha256(unfinished))).toBe(10_000);
    await expectDownloads(west, theirs);

    // Declaring the same hash here makes our own copy, to be sent in full; theirs is untouched.
    const ours = await east.declare({ hash, size: theirs.length });
    expect(ours.status).toBe(201);
    expect(ours.body.attachment).toMatchObject({ received: 0, complete: false, name: null });
    expect(errorOf(await east.get(hash))).toEqual({ status: 409, code: 'incomplete' });
    expect((await east.upload(theirs)).status).toBe(200);
    await expectDownloads(east, theirs);
    expect(await stored(hash, westCommunityId)).toEqual({ rows: 1, chunks: 1, bytes: theirs.length });
    expect((await stored(hash)).rows).toBe(2);
    const westGot = await expectDownloads(west, theirs);
    expect(westGot.headers.get('content-disposition')).toContain('filename="west.png"');
  });

  it('when nobody is signed in (or the key is wrong), then 401 on POST, HEAD, PATCH and GET', async () => {
    const png = makePng(10, 10);
    const hash = sha256(png);
    expect((await east.upload(png)).status).toBe(200);
    const anonymous = new AttachmentClient(server.url, {});
    expect(errorOf(await anonymous.declare({ hash: sha256(Buffer.from('new')), size: 3 }))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    expect((await anonymous.head(hash)).status).toBe(401);
    expect(errorOf(await anonymous.patch(hash, png.length, new Uint8Array(0)))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    // Not signed in comes before what the body is.
    expect(errorOf(await anonymous.patch(hash, 0, png, { 'content-type': 'text/plain' }))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    const got = await anonymous.get(hash);
    expect(errorOf(got)).toEqual({ status: 401, code: 'unauthorized' });
    expect(got.bytes.length).toBeLessThan(200);
    expect(errorOf(await anonymous.get(hash, { 'if-none-match': `"${hash}"` }))).toEqual({
      status: 401,
      code: 'unauthorized',
    });
    const badKey = new AttachmentClient(server.url, asHub('ll_not-a-real-key-000000000000000000000000000'));
    expect(errorOf(await badKey.get(hash))).toEqual({ status: 401, code: 'invalid_api_key' });
    expect((await stored(sha256(Buffer.from('new')))).rows).toBe(0);
    await expectDownloads(east, png);
  });
});

describe('limits', () => {
  let limited: TestServer;
  let member: AttachmentClient;

  beforeAll(async () => {
    limited = await startTestServer({ ATTACHMENT_MAX_BYTES: '3000', ATTACHMENT_COMMUNITY_MAX_BYTES: '5000' });
    const community = await seedCommunity(limited.url);
    member = new AttachmentClient(limited.url, asMember(community.volunteer.client.sessionCookie));
  });
  afterAll(async () => limited?.stop());

  it('when a file is over ATTACHMENT_MAX_BYTES or the community would go over ATTACHMENT_COMMUNITY_MAX_BYTES, then 413 with the code, and what is stored is unharmed', async () => {
    const big = makeJpeg(3000 - 22);
    expect(big.length).toBe(3000);
    expect(errorOf(await member.declare({ hash: sha256(Buffer.from('a')), size: 3001 }))).toEqual({
      status: 413,
      code: 'attachment_too_large',
    });
    expect((await member.upload(big)).status).toBe(200);
    const second = makeJpeg(2000 - 22);
    expect((await member.declare({ hash: sha256(second), size: second.length })).status).toBe(201);
    expect((await member.patch(sha256(second), 0, second.subarray(0, 500))).status).toBe(204);
    // 3000 + 2000 declared: full, whether complete or not.
    const over = await member.declare({ hash: sha256(Buffer.from('one more')), size: 1 });
    expect(errorOf(over)).toEqual({ status: 413, code: 'quota_exceeded' });
    expect(over.body.error.message).toContain('5001');
    // What it holds can be declared again, and its upload goes on.
    expect((await member.declare({ hash: sha256(big), size: big.length })).status).toBe(200);
    expect((await member.declare({ hash: sha256(second), size: second.length })).status).toBe(200);
    expect(await member.offset(sha256(second))).toBe(500);
    // An unfinished upload re-declared larger counts only once, and still must fit.
    expect(errorOf(await member.declare({ hash: sha256(second), size: second.length + 1 }))).toEqual({
      status: 413,
      code: 'quota_exceeded',
    });
    expect(await member.offset(sha256(second))).toBe(500);
    expect((await member.patch(sha256(second), 500, second.subarray(500))).status).toBe(200);
    const got = await member.get(sha256(big));
    expect(Buffer.from(got.bytes).equals(big)).toBe(true);
    expect(Buffer.from((await member.get(sha256(second))).bytes).equals(second)).toBe(true);
  });
});

describe('abandoned uploads expire', () => {
  const HOUR = 3_600_000;

  /** The attachment's row (complete?) and how many pieces it has on `on`, or null when it is gone. */
  async function rowOf(on: TestServer, hash: string) {
    const { rows } = await on.server.ctx.db.query<{ complete: boolean; received: number; chunks: number }>(
      `SELECT a.complete, a.received::int AS received,
              (SELECT count(*)::int FROM attachment_chunks c WHERE c.community_id = a.community_id AND c.hash = a.hash) AS chunks
         FROM attachments a WHERE a.hash = $1`,
      [hash],
    );
    return rows[0] ?? null;
  }

  /** As if nobody had touched it (nor completed it) for `ms`. */
  async function age(on: TestServer, hash: string, ms: number) {
    await on.server.ctx.db.query(
      `UPDATE attachments SET updated_at = updated_at - $2 * interval '1 millisecond',
              completed_at = completed_at - $2 * interval '1 millisecond' WHERE hash = $1`,
      [hash, ms],
    );
  }

  describe('before a declaration counts the quota', () => {
    let limited: TestServer;
    let member: AttachmentClient;

    beforeAll(async () => {
      limited = await startTestServer({
        ATTACHMENT_MAX_BYTES: '4000',
        ATTACHMENT_COMMUNITY_MAX_BYTES: '6000',
        ATTACHMENT_UPLOAD_EXPIRY_HOURS: '1',
      });
      const community = await seedCommunity(limited.url);
      member = new AttachmentClient(limited.url, asMember(community.volunteer.client.sessionCookie));
    });
    afterAll(async () => limited?.stop());

    it('when an unfinished upload is untouched for longer than ATTACHMENT_UPLOAD_EXPIRY_HOURS, then it stops counting and is deleted; complete files stay', async () => {
      const kept = makeJpeg(1000 - 22);
      expect((await member.upload(kept)).status).toBe(200);
      const abandoned = makeJpeg(3000 - 22);
      expect((await member.declare({ hash: sha256(abandoned), size: abandoned.length })).status).toBe(201);
      expect((await member.patch(sha256(abandoned), 0, abandoned.subarray(0, 500))).status).toBe(204);
      const next = makeJpeg(2500 - 22);
      // 1000 + 3000 + 2500 > 6000: the unfinished upload still counts.
      expect(errorOf(await member.declare({ hash: sha256(next), size: next.length }))).toEqual({
        status: 413,
        code: 'quota_exceeded',
      });

      // An hour and a minute later (and the complete file a day old): the abandoned one goes, the rest fits.
      await age(limited, sha256(abandoned), HOUR + 60_000);
      await age(limited, sha256(kept), 24 * HOUR);
      expect((await member.declare({ hash: sha256(next), size: next.length })).status).toBe(201);
      expect(await rowOf(limited, sha256(abandoned))).toBeNull();
      expect(await member.offset(sha256(abandoned))).toBeNull();
      expect(await rowOf(limited, sha256(kept))).toEqual({ complete: true, received: kept.length, chunks: 1 });
      expect(Buffer.from((await member.get(sha256(kept))).bytes).equals(kept)).toBe(true);
      expect((await member.patch(sha256(next), 0, next)).status).toBe(200);
    });

    it('when an expired upload is declared again, then it starts afresh at offset 0 and completes', async () => {
      const file = makeJpeg(1200 - 22);
      const hash = sha256(file);
      expect((await member.declare({ hash, size: file.length })).status).toBe(201);
      expect((await member.patch(hash, 0, file.subarray(0, 700))).status).toBe(204);
      await age(limited, hash, HOUR + 1000);
      const again = await member.declare({ hash, size: file.length });
      expect(again.status).toBe(201);
      expect(again.body.attachment).toMatchObject({ received: 0, complete: false });
      expect(await rowOf(limited, hash)).toEqual({ complete: false, received: 0, chunks: 0 });
      // The old offset is refused; from 0 it completes.
      expect(errorOf(await member.patch(hash, 700, file.subarray(700)))).toEqual({
        status: 409,
        code: 'offset_mismatch',
      });
      expect((await member.patch(hash, 0, file)).status).toBe(200);
      expect(Buffer.from((await member.get(hash)).bytes).equals(file)).toBe(true);
    });

    it('when an old upload gets a piece or is declared again, then it counts as touched and is kept', async () => {
      const pieced = makeJpeg(300 - 22);
      const redeclared = makeJpeg(300 - 22);
      for (const file of [pieced, redeclared]) {
        expect((await member.declare({ hash: sha256(file), size: file.length })).status).toBe(201);
        expect((await member.patch(sha256(file), 0, file.subarray(0, 100))).status).toBe(204);
        await age(limited, sha256(file), HOUR - 60_000);
      }
      expect((await member.patch(sha256(pieced), 100, pieced.subarray(100, 200))).status).toBe(204);
      expect((await member.declare({ hash: sha256(redeclared), size: redeclared.length })).status).toBe(200);
      // Two minutes later: each was touched a minute ago, not an hour and a minute.
      await age(limited, sha256(pieced), 120_000);
      await age(limited, sha256(redeclared), 120_000);
      expect((await member.declare({ hash: sha256(Buffer.from('x')), size: 1 })).status).toBe(201);
      expect(await rowOf(limited, sha256(pieced))).toEqual({ complete: false, received: 200, chunks: 2 });
      expect(await rowOf(limited, sha256(redeclared))).toEqual({ complete: false, received: 100, chunks: 1 });
    });
  });

  describe('the periodic sweep', () => {
    let swept: TestServer;
    let member: AttachmentClient;

    beforeAll(async () => {
      // 3.6 s: the sweep runs every second.
      swept = await startTestServer({ ATTACHMENT_UPLOAD_EXPIRY_HOURS: '0.001' });
      const community = await seedCommunity(swept.url);
      member = new AttachmentClient(swept.url, asMember(community.volunteer.client.sessionCookie));
    });
    afterAll(async () => swept?.stop());

    it('when nothing is declared at all, then the server itself deletes expired uploads (rows and pieces), never a complete file', async () => {
      const complete = makePng(40, 40);
      expect((await member.upload(complete)).status).toBe(200);
      const abandoned = makeJpeg(5000);
      expect((await member.declare({ hash: sha256(abandoned), size: abandoned.length })).status).toBe(201);
      expect((await member.patch(sha256(abandoned), 0, abandoned.subarray(0, 3000))).status).toBe(204);
      await age(swept, sha256(abandoned), HOUR);
      await age(swept, sha256(complete), 365 * 24 * HOUR);
      await until('the sweep', async () => (await rowOf(swept, sha256(abandoned))) === null, 10_000);
      const { rows } = await swept.server.ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM attachment_chunks WHERE hash = $1`,
        [sha256(abandoned)],
      );
      expect(rows[0]!.n).toBe(0);
      expect(await rowOf(swept, sha256(complete))).toMatchObject({ complete: true, received: complete.length });
      expect(Buffer.from((await member.get(sha256(complete))).bytes).equals(complete)).toBe(true);
      const metrics = await swept.server.ctx.metrics.registry.metrics();
      expect(metrics).toMatch(/^lifeline_attachment_uploads_expired_total 1$/m);
    });
  });

  it.each(['0', '-1', 'a day', '1e3', '8761'])(
    'when ATTACHMENT_UPLOAD_EXPIRY_HOURS is %j, then the configuration is refused naming it',
    (value) => {
      expect(() => loadConfig({ ATTACHMENT_UPLOAD_EXPIRY_HOURS: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ATTACHMENT_UPLOAD_EXPIRY_HOURS: value })).toThrow(/ATTACHMENT_UPLOAD_EXPIRY_HOURS/);
    },
  );

  it('when ATTACHMENT_UPLOAD_EXPIRY_HOURS is unset or a fraction, then it is 24 hours or that fraction', () => {
    expect(loadConfig({}).attachments.uploadExpiryMs).toBe(24 * HOUR);
    expect(loadConfig({ ATTACHMENT_UPLOAD_EXPIRY_HOURS: '0.5' }).attachments.uploadExpiryMs).toBe(HOUR / 2);
  });
});

describe('embedded PGlite', () => {
  it('when the server runs on PGlite, then a 1.5 MB upload in two pieces downloads identically', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-attachments-'));
    const embedded = await startTestServer({ DATA_DIR: dataDir });
    try {
      expect(embedded.server.ctx.db.kind).toBe('pglite');
      const community = await seedCommunity(embedded.url);
      const member = new AttachmentClient(embedded.url, asMember(community.volunteer.client.sessionCookie));
      const png = makePng(700, 700);
      expect(png.length).toBeGreaterThan(1.4 * MiB);
      const hash = sha256(png);
      expect((await member.declare({ hash, size: png.length, name: 'p.png' })).status).toBe(201);
      expect((await member.patch(hash, 0, png.subarray(0, 800_000))).status).toBe(204);
      expect(await member.offset(hash)).toBe(800_000);
      const last = await member.patch(hash, 800_000, png.subarray(800_000));
      expect(last.status).toBe(200);
      expect(last.body.attachment).toMatchObject({ size: png.length, received: png.length, type: 'image/png' });
      const got = await member.get(hash);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(got.bytes).equals(png)).toBe(true);
      expect((await member.get(hash, { 'if-none-match': `"${hash}"` })).status).toBe(304);
    } finally {
      await embedded.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
