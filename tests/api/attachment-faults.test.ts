/**
 * Resumable upload against real faults: the server process killed with
 * SIGKILL between PATCHes and while one is in flight, then restarted on the
 * same database; and connections cut by a TCP proxy in the middle of a
 * PATCH (before the server has it all, and after it stored it but before
 * the answer arrived). Each time the client asks HEAD where the upload
 * stands, sends from there, and the file downloads with the right SHA-256,
 * its stored pieces end to end with no byte twice or missing.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asMember, AttachmentClient, makePng, sha256, UPLOAD_TYPE } from '../helpers/attachment-files';
import { seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { FaultProxy } from '../helpers/fault-proxy';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';
import pg from 'pg';

const MiB = 1024 * 1024;

let database: TestDatabase;
let server: ServerProcess;
let port: number;
let member: AttachmentClient;

const start = async () => {
  server = await spawnServer({ DATABASE_URL: database.url, ...(port ? { PORT: String(port) } : {}) });
  port = Number(new URL(server.url).port);
};

async function restartAfterKill() {
  expect(await server.stop('SIGKILL')).toBeNull(); // killed by the signal: no exit code
  await start();
}

beforeAll(async () => {
  database = await createTestDatabase();
  await start();
  const seeded = await seedCommunity(server.url);
  member = new AttachmentClient(server.url, asMember(seeded.volunteer.client.sessionCookie));
});
afterAll(async () => {
  await server?.stop('SIGKILL');
  await database?.drop();
});

/** The stored pieces of a hash straight from Postgres: do they tile [0, size) exactly? */
async function storedPieces(hash: string) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ start: string; length: number }>(
      `SELECT start, octet_length(data) AS length FROM attachment_chunks WHERE hash = $1 ORDER BY start`,
      [hash],
    );
    let next = 0;
    let gapsOrOverlaps = 0;
    for (const row of rows) {
      if (Number(row.start) !== next) gapsOrOverlaps += 1;
      next = Number(row.start) + row.length;
    }
    return { end: next, gapsOrOverlaps };
  } finally {
    await client.end();
  }
}

async function expectServedWhole(file: Uint8Array) {
  const hash = sha256(file);
  const got = await member.get(hash);
  expect(got.status).toBe(200);
  expect(got.headers.get('content-type')).toBe('image/png');
  expect(got.bytes.length).toBe(file.length);
  expect(sha256(got.bytes)).toBe(hash);
  expect(await storedPieces(hash)).toEqual({ end: file.length, gapsOrOverlaps: 0 });
}

/** What a client does after any failure: ask where the upload stands, send the rest from there. */
async function resume(client: AttachmentClient, file: Uint8Array, pieceBytes = MiB) {
  const hash = sha256(file);
  let offset = (await client.offset(hash))!;
  let status = 0;
  while (offset < file.length) {
    const reply = await client.patch(hash, offset, file.subarray(offset, offset + pieceBytes));
    expect([200, 204]).toContain(reply.status);
    status = reply.status;
    offset = Number(reply.headers.get('upload-offset'));
  }
  expect(status).toBe(200);
}

/**
 * A PATCH whose body is written only in part (the rest never comes): resolves
 * once `sent` bytes have left this process; `failed` settles when the
 * connection dies.
 */
function patchInFlight(hash: string, offset: number, piece: Uint8Array, sent: number) {
  const request = http.request(`${server.url}/api/attachments/${hash}`, {
    method: 'PATCH',
    headers: {
      ...member.credentials,
      'content-type': UPLOAD_TYPE,
      'upload-offset': String(offset),
      'content-length': String(piece.length),
    },
  });
  const failed = new Promise<string>((resolve) => {
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    request.on('response', (response) => resolve(`answered ${response.statusCode}`));
  });
  const written = new Promise<void>((resolve) => {
    if (sent < piece.length) request.write(piece.subarray(0, sent), () => resolve());
    else request.end(piece, () => resolve());
  });
  return { written, failed };
}

describe('server killed with SIGKILL mid-upload', () => {
  it('when killed after two PATCHes committed, then after a restart HEAD says 2 MiB and the rest completes it', async () => {
    const file = makePng(1000, 1000); // about 3 MB
    expect(file.length).toBeGreaterThan(2.8 * MiB);
    const hash = sha256(file);
    expect((await member.declare({ hash, size: file.length, name: 'crash.png' })).status).toBe(201);
    expect((await member.patch(hash, 0, file.subarray(0, MiB))).status).toBe(204);
    expect((await member.patch(hash, MiB, file.subarray(MiB, 2 * MiB))).status).toBe(204);

    await restartAfterKill();

    expect(await member.offset(hash)).toBe(2 * MiB);
    const head = await member.head(hash);
    expect(head.headers.get('upload-length')).toBe(String(file.length));
    // The same session (kept in the database) goes on where it stood.
    await resume(member, file);
    await expectServedWhole(file);
  }, 120_000);

  it('when killed while a PATCH is half sent, then the piece in flight is not counted and the upload resumes from the last committed one', async () => {
    const file = makePng(1000, 1000);
    const hash = sha256(file);
    expect((await member.declare({ hash, size: file.length })).status).toBe(201);
    expect((await member.patch(hash, 0, file.subarray(0, MiB))).status).toBe(204);

    const inFlight = patchInFlight(hash, MiB, file.subarray(MiB, 3 * MiB), MiB + 12_345);
    await inFlight.written;
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the server read what was sent
    await restartAfterKill();
    expect(await inFlight.failed).not.toMatch(/^answered/);

    expect(await member.offset(hash)).toBe(MiB);
    expect(await storedPieces(hash)).toEqual({ end: MiB, gapsOrOverlaps: 0 });
    await resume(member, file, 700_000);
    await expectServedWhole(file);
  }, 120_000);

  it('when killed while its PATCH is inside the transaction (the chunk insert held by a lock), then after a restart none of it counts', async () => {
    const file = makePng(1000, 1000);
    const hash = sha256(file);
    expect((await member.declare({ hash, size: file.length })).status).toBe(201);
    expect((await member.patch(hash, 0, file.subarray(0, MiB))).status).toBe(204);

    // Reads go on; the server's INSERT of the next piece waits for this lock.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE attachment_chunks IN EXCLUSIVE MODE');
      const piece = file.subarray(MiB, 2 * MiB);
      const inFlight = patchInFlight(hash, MiB, piece, piece.length);
      await inFlight.written;
      await until('the PATCH to wait on the chunk insert', async () => {
        // pg_locks, not pg_stat_activity: that one is a snapshot taken once per transaction.
        const { rows } = await blocker.query(
          `SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'attachment_chunks'::regclass AND mode = 'RowExclusiveLock'`,
        );
        return rows.length > 0;
      });
      expect(await server.stop('SIGKILL')).toBeNull();
      expect(await inFlight.failed).not.toMatch(/^answered/);
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    await start();

    expect(await member.offset(hash)).toBe(MiB);
    expect(await storedPieces(hash)).toEqual({ end: MiB, gapsOrOverlaps: 0 });
    await resume(member, file);
    await expectServedWhole(file);
  }, 120_000);

  it.each([0, 15])(
    'when killed %i ms after a whole 2 MiB PATCH was sent (answer or not), then HEAD says either before or after it, never between, and resuming completes it',
    async (delayMs) => {
      const file = makePng(1000, 1000);
      const hash = sha256(file);
      expect((await member.declare({ hash, size: file.length })).status).toBe(201);
      expect((await member.patch(hash, 0, file.subarray(0, 500_000))).status).toBe(204);

      const piece = file.subarray(500_000, 500_000 + 2 * MiB);
      const inFlight = patchInFlight(hash, 500_000, piece, piece.length);
      await inFlight.written;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await restartAfterKill();
      await inFlight.failed;

      expect([500_000, 500_000 + 2 * MiB]).toContain(await member.offset(hash));
      expect((await storedPieces(hash)).gapsOrOverlaps).toBe(0);
      await resume(member, file);
      await expectServedWhole(file);
    },
    120_000,
  );
});

describe('connection cut by the network mid-PATCH', () => {
  let proxy: FaultProxy;
  let viaProxy: AttachmentClient;

  beforeAll(async () => {
    proxy = await FaultProxy.start(port);
    viaProxy = new AttachmentClient(proxy.url, member.credentials);
  });
  afterAll(async () => proxy?.stop());

  it('when the request is cut after part of its body, then nothing of it is stored, HEAD says where it stood, and a resume completes it', async () => {
    const file = makePng(1000, 1000);
    const hash = sha256(file);
    expect((await viaProxy.declare({ hash, size: file.length })).status).toBe(201);
    expect((await viaProxy.patch(hash, 0, file.subarray(0, MiB))).status).toBe(204);

    await proxy.setMode({ kind: 'cut-request', afterBytes: 600_000 });
    await expect(viaProxy.patch(hash, MiB, file.subarray(MiB, 2 * MiB))).rejects.toThrow();
    expect(proxy.stats.cuts).toBeGreaterThan(0);
    await proxy.setMode({ kind: 'pass' });

    expect(await viaProxy.offset(hash)).toBe(MiB);
    await resume(viaProxy, file);
    await expectServedWhole(file);
  });

  it('when the answer is cut after the server stored the piece, then HEAD shows it stored, and the client sends only the rest', async () => {
    const file = makePng(1000, 1000);
    const hash = sha256(file);
    expect((await viaProxy.declare({ hash, size: file.length })).status).toBe(201);

    await proxy.setMode({ kind: 'cut-response', afterBytes: 0 });
    await expect(viaProxy.patch(hash, 0, file.subarray(0, 1_500_000))).rejects.toThrow();
    await proxy.setMode({ kind: 'pass' });

    expect(await viaProxy.offset(hash)).toBe(1_500_000);
    // Re-sending the lost piece as if nothing was stored is refused, with where it really stands.
    const again = await viaProxy.patch(hash, 0, file.subarray(0, 1_500_000));
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'offset_mismatch', offset: 1_500_000 });
    await resume(viaProxy, file);
    await expectServedWhole(file);
  });

  it('when every PATCH is cut at a different point, then a client that always asks HEAD still ends with the exact file', async () => {
    const file = makePng(1000, 1000);
    const hash = sha256(file);
    expect((await viaProxy.declare({ hash, size: file.length })).status).toBe(201);
    const piece = 800_000;
    let failures = 0;
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const offset = (await viaProxy.offset(hash))!;
      if (offset === file.length) break;
      // Alternate: cut the request at some point of its body, cut the answer, let it through.
      const mode = attempt % 3;
      await proxy.setMode(
        mode === 0
          ? { kind: 'cut-request', afterBytes: 1000 + ((attempt * 97_531) % piece) }
          : mode === 1
            ? { kind: 'cut-response', afterBytes: attempt % 2 === 0 ? 0 : 20 }
            : { kind: 'pass' },
      );
      try {
        const reply = await viaProxy.patch(hash, offset, file.subarray(offset, offset + piece));
        expect([200, 204]).toContain(reply.status);
      } catch {
        failures += 1;
      }
      await proxy.setMode({ kind: 'pass' });
    }
    expect(failures).toBeGreaterThan(0);
    expect(await viaProxy.offset(hash)).toBe(file.length);
    await expectServedWhole(file);
  });
});
