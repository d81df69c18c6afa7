/**
 * ATTACHMENT_STORE=s3: the bytes of photos and files go to an S3-compatible
 * bucket (a local s3rver the test starts, spoken to by the AWS SDK), while
 * Postgres keeps each attachment's row and the list of its pieces. The
 * server is a real process on real Postgres, restarted on the same database.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, seedCommunity } from '../helpers/client';
import { until } from '../helpers/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';

const BUCKET = 'lifeline-test';
const PREFIX = 'photos/';
let s3: S3rver;
let s3Url: string;
let s3Dir: string;
let bucketClient: S3Client;
let database: TestDatabase;
let server: ServerProcess;
let member: ApiClient;
let communityId: string;

const serverEnv = () => ({
  DATABASE_URL: database.url,
  ATTACHMENT_STORE: 's3',
  ATTACHMENT_S3_BUCKET: BUCKET,
  ATTACHMENT_S3_ENDPOINT: s3Url,
  ATTACHMENT_S3_ACCESS_KEY_ID: 'S3RVER',
  ATTACHMENT_S3_SECRET_ACCESS_KEY: 'S3RVER',
  ATTACHMENT_S3_PREFIX: PREFIX,
  ATTACHMENT_UPLOAD_EXPIRY_HOURS: '1',
});

const HOUR = 3_600_000;

beforeAll(async () => {
  s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-s3-'));
  const port = await freePort();
  s3 = new S3rver({ port, address: '127.0.0.1', silent: true, directory: s3Dir });
  await s3.run();
  s3Url = `http://127.0.0.1:${port}`;
  bucketClient = new S3Client({
    endpoint: s3Url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  database = await createTestDatabase('lifeline_s3');
  // The bucket does not exist yet: the server creates it at start-up.
  server = await spawnServer(serverEnv());
  const seeded = await seedCommunity(server.url);
  member = seeded.volunteer.client;
  communityId = seeded.adminUser.communityId;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  bucketClient?.destroy();
  await s3?.close();
  fs.rmSync(s3Dir, { recursive: true, force: true });
});

/** A JPEG-looking file: the server sniffs the first bytes. */
function jpeg(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function patch(hash: string, offset: number, bytes: Uint8Array, url = server.url) {
  return fetch(`${url}/api/attachments/${hash}`, {
    method: 'PATCH',
    headers: {
      cookie: member.sessionCookie!,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
    },
    // A copy as an ArrayBuffer: what fetch's types accept for bytes.
    body: Uint8Array.from(bytes).buffer,
  });
}

async function download(hash: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(`${server.url}/api/attachments/${hash}`, { headers: { cookie: member.sessionCookie! } });
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const listed = await bucketClient.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

async function sql<Row>(text: string, params: unknown[]): Promise<Row[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** As if nobody had touched the upload for `ms`. */
const age = (hash: string, ms: number) =>
  sql(`UPDATE attachments SET updated_at = updated_at - $2 * interval '1 millisecond' WHERE hash = $1`, [hash, ms]);

const rowCount = async (hash: string) =>
  (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM attachments WHERE hash = $1`, [hash]))[0]!.n;

const keysOf = (hash: string) => bucketKeys(`${PREFIX}${communityId}/${hash}/`);

/** Declare `file` and send its first `bytes`: an upload under way, its pieces in the bucket. */
async function startUpload(file: Buffer, bytes: number, url = server.url) {
  const hash = sha256(file);
  expect((await member.post('/api/attachments', { hash, size: file.length })).status).toBe(201);
  expect((await patch(hash, 0, file.subarray(0, bytes), url)).status).toBe(204);
  return hash;
}

async function storedPieces(hash: string) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ start: string; length: number; inRow: boolean }>(
      `SELECT start, length, data IS NOT NULL AS "inRow" FROM attachment_chunks WHERE hash = $1 ORDER BY start`,
      [hash],
    );
    return rows.map((row) => ({ start: Number(row.start), length: row.length, inRow: row.inRow }));
  } finally {
    await client.end();
  }
}

describe('attachments in an S3-compatible bucket', () => {
  it('keeps the bytes in the bucket and only the list of pieces in Postgres, across a restart', async () => {
    const file = jpeg(2_500_000);
    const hash = sha256(file);
    const declared = await member.post('/api/attachments', { hash, size: file.length, name: 'roof.jpg' });
    expect(declared.status).toBe(201);
    // 2 MiB in one PATCH (stored as two pieces of 1 MiB), then the rest.
    expect((await patch(hash, 0, file.subarray(0, 2 * 1024 * 1024))).status).toBe(204);
    const last = await patch(hash, 2 * 1024 * 1024, file.subarray(2 * 1024 * 1024));
    expect(last.status).toBe(200);
    expect(((await last.json()) as { attachment: { complete: boolean } }).attachment.complete).toBe(true);

    expect(await storedPieces(hash)).toEqual([
      { start: 0, length: 1_048_576, inRow: false },
      { start: 1_048_576, length: 1_048_576, inRow: false },
      { start: 2_097_152, length: 2_500_000 - 2_097_152, inRow: false },
    ]);
    expect(await bucketKeys(`${PREFIX}${communityId}/${hash}/`)).toEqual(
      ['0', '1048576', '2097152'].map((start) => `${PREFIX}${communityId}/${hash}/${start}`).sort(),
    );

    const first = await download(hash);
    expect(first.status).toBe(200);
    expect(sha256(first.bytes)).toBe(hash);

    await server.stop();
    server = await spawnServer({ ...serverEnv(), PORT: new URL(server.url).port });
    const again = await download(hash);
    expect(again.status).toBe(200);
    expect(Buffer.compare(again.bytes, file)).toBe(0);
  }, 60_000);

  it('a corrupt upload is refused by its hash and a correct re-send over the same pieces succeeds', async () => {
    const file = jpeg(300_000);
    const hash = sha256(file);
    expect((await member.post('/api/attachments', { hash, size: file.length })).status).toBe(201);
    const corrupt = Buffer.from(file);
    corrupt[1000] = corrupt[1000]! ^ 0xff;
    const refused = await patch(hash, 0, corrupt);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('hash_mismatch');
    expect(await storedPieces(hash)).toEqual([]);
    // Their objects went with them, not orphaned in the bucket.
    expect(await keysOf(hash)).toEqual([]);

    expect((await patch(hash, 0, file)).status).toBe(200);
    const served = await download(hash);
    expect(Buffer.compare(served.bytes, file)).toBe(0);
  }, 30_000);

  it('a file that is not an accepted type is deleted with its objects', async () => {
    const file = randomBytes(1_500_000);
    file.set(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg">'), 0);
    const hash = await startUpload(file, 1_200_000);
    expect(await keysOf(hash)).toEqual([
      `${PREFIX}${communityId}/${hash}/0`,
      `${PREFIX}${communityId}/${hash}/1048576`,
    ]);
    const refused = await patch(hash, 1_200_000, file.subarray(1_200_000));
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unsupported_type');
    expect(await rowCount(hash)).toBe(0);
    expect(await keysOf(hash)).toEqual([]);
  }, 30_000);

  it('an unfinished upload declared with another size starts over without its old objects', async () => {
    const file = jpeg(400_000);
    const hash = await startUpload(file, 300_000);
    expect(await keysOf(hash)).toHaveLength(1);
    const again = await member.post('/api/attachments', { hash, size: file.length + 1 });
    expect(again.status).toBe(200);
    expect(again.body.attachment.received).toBe(0);
    expect(await keysOf(hash)).toEqual([]);
  }, 30_000);

  it('an abandoned upload expires with every object under its key, also a piece no row counts; complete files stay', async () => {
    const done = jpeg(200_000);
    const doneHash = sha256(done);
    expect((await member.post('/api/attachments', { hash: doneHash, size: done.length })).status).toBe(201);
    expect((await patch(doneHash, 0, done)).status).toBe(200);
    const abandoned = jpeg(2_500_000);
    const hash = await startUpload(abandoned, 2_200_000);
    // A piece written by a request that failed before its transaction committed: in the bucket, in no row.
    const orphan = `${PREFIX}${communityId}/${hash}/2200000`;
    await bucketClient.send(new PutObjectCommand({ Bucket: BUCKET, Key: orphan, Body: randomBytes(10) }));
    expect(await keysOf(hash)).toHaveLength(4);

    // An hour and a minute without a piece: the next declaration in the community clears it first.
    await age(hash, HOUR + 60_000);
    await sql(`UPDATE attachments SET updated_at = updated_at - interval '1 day' WHERE hash = $1`, [doneHash]);
    const other = jpeg(1000);
    expect((await member.post('/api/attachments', { hash: sha256(other), size: other.length })).status).toBe(201);
    expect(await rowCount(hash)).toBe(0);
    expect(await keysOf(hash)).toEqual([]);
    expect(await keysOf(doneHash)).toHaveLength(1);
    expect(Buffer.compare((await download(doneHash)).bytes, done)).toBe(0);

    // The periodic sweep does the same with nothing declared (a server expiring after 3.6 s sweeps every second).
    const sweeping = await spawnServer({ ...serverEnv(), ATTACHMENT_UPLOAD_EXPIRY_HOURS: '0.001' });
    try {
      const later = jpeg(1_500_000);
      const laterHash = await startUpload(later, 1_100_000, sweeping.url);
      expect(await keysOf(laterHash)).toHaveLength(2);
      await age(laterHash, HOUR);
      await age(sha256(other), HOUR);
      await until('the sweep', async () => (await rowCount(laterHash)) === 0, 15_000);
      expect(await keysOf(laterHash)).toEqual([]);
      // The first server's unfinished upload (declared, never sent) went too; the complete file never.
      await until('the second upload swept', async () => (await rowCount(sha256(other))) === 0, 5000);
      expect(await keysOf(doneHash)).toHaveLength(1);
      expect(await rowCount(doneHash)).toBe(1);
    } finally {
      await sweeping.stop();
    }
  }, 60_000);

  it('refuses to start when the bucket cannot be reached', async () => {
    const closed = await freePort();
    await expect(
      spawnServer({
        ...serverEnv(),
        DATABASE_URL: database.url,
        ATTACHMENT_S3_ENDPOINT: `http://127.0.0.1:${closed}`,
      }),
    ).rejects.toThrow(/exited early|ECONNREFUSED/);
  }, 60_000);
});
