/**
 * From embedded to Postgres: a populated embedded server (PGlite in its
 * DATA_DIR) with members, a hub and records, moved with `npm run db:move`
 * into a new Postgres database, then the server started on it. People sign
 * in with their passwords and stay signed in, the hub's key still works,
 * every record is there, old cursors are refused so devices pull again, and
 * sync carries on.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, pullAll, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { spawnServer, type ServerProcess } from '../helpers/process';

const ROOT = path.resolve(import.meta.dirname, '../..');
let dataDir: string;
let target: TestDatabase;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-move-'));
  target = await createTestDatabase('lifeline_move');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  await target?.drop();
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('db:move', () => {
  it('when an embedded database is moved into Postgres, then accounts, hubs, sessions and records carry on', async () => {
    const embedded = await spawnServer({ DATA_DIR: dataDir });
    servers.push(embedded);
    const seeded = await seedCommunity(embedded.url);
    const hub = await seeded.admin.post('/api/devices', { name: 'School hub', kind: 'hub' });
    expect(hub.status).toBe(201);
    const changes = Array.from({ length: 300 }, (_, i) => createUpdate('move', { kind: 'need', title: `Need ${i}` }));
    expect((await seeded.volunteer.client.post('/api/sync/push', { clientId: 'move', changes })).status).toBe(200);
    const before = await pullAll(seeded.coordinator.client, null);
    expect(before.ids).toHaveLength(300);
    // A photo (in two pieces) comes along with its bytes.
    const photo = randomBytes(1_500_000);
    photo.set([0xff, 0xd8, 0xff, 0xe0], 0);
    const hash = createHash('sha256').update(photo).digest('hex');
    const cookie = seeded.volunteer.client.sessionCookie!;
    expect((await seeded.volunteer.client.post('/api/attachments', { hash, size: photo.length })).status).toBe(201);
    const uploaded = await fetch(`${embedded.url}/api/attachments/${hash}`, {
      method: 'PATCH',
      headers: { cookie, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: Uint8Array.from(photo).buffer,
    });
    expect(uploaded.status).toBe(200);
    await embedded.stop();

    const move = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/db-move.ts', '--to', target.url, '--data-dir', dataDir],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(move.status, `${move.stdout}\n${move.stderr}`).toBe(0);
    // Moving twice into the same database is refused, and harms nothing.
    const again = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/db-move.ts', '--to', target.url, '--data-dir', dataDir],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/not empty/);

    const moved = await spawnServer({ DATABASE_URL: target.url });
    servers.push(moved);
    // A session from before the move still works (same secret, same sessions); passwords sign in too.
    const cora = new ApiClient(moved.url);
    const session = await fetch(`${moved.url}/api/auth/me`, {
      headers: { cookie: seeded.coordinator.client.sessionCookie! },
    });
    expect(session.status).toBe(200);
    expect(
      (await cora.post('/api/auth/login', { email: 'cora@eastside.example', password: 'password-123' })).status,
    ).toBe(200);
    expect(await pullAll(cora, before.cursor)).toMatchObject({ status: 409, code: 'cursor_mismatch' });
    const fresh = await pullAll(cora, null);
    expect(new Set(fresh.ids)).toEqual(new Set(before.ids));

    const hubClient = new ApiClient(moved.url, hub.body.apiKey as string);
    expect((await hubClient.get('/api/sync/status')).status).toBe(200);
    const served = await fetch(`${moved.url}/api/attachments/${hash}`, { headers: { cookie } });
    expect(served.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await served.arrayBuffer()), photo)).toBe(0);
    // Listed to hubs in the moved database's own numbering (not lost ahead of its transaction counter).
    const listed = await hubClient.get('/api/attachments');
    expect(listed.body.attachments.map((a: { hash: string }) => a.hash)).toEqual([hash]);

    const next = createUpdate('move', { kind: 'offer', title: 'After the move' });
    const victor = new ApiClient(moved.url);
    await victor.post('/api/auth/login', { email: 'victor@eastside.example', password: 'password-123' });
    expect((await victor.post('/api/sync/push', { clientId: 'move', changes: [next] })).body.results[0].status).toBe(
      'applied',
    );
    expect((await pullAll(cora, fresh.cursor)).ids).toEqual([next.entityId]);
  }, 180_000);
});
