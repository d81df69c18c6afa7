/**
 * The server as a real process: embedded PGlite by default (data survives a
 * restart), bad configuration refused at start, and SIGTERM finishing
 * in-flight requests before exit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { createTestDatabase } from '../helpers/database';
import { spawnServer } from '../helpers/process';

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('embedded mode (no DATABASE_URL)', () => {
  it('when started with only DATA_DIR, then it serves the API on PGlite and keeps data across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-embedded-'));
    tempDirs.push(dataDir);
    const first = await spawnServer({ DATA_DIR: dataDir }, 120_000);
    let entityId: string;
    let cookie: string;
    try {
      const status = await new ApiClient(first.url).get('/readyz');
      expect(status.body.mode).toBe('embedded');
      const seeded = await seedCommunity(first.url);
      const change = createUpdate('n', { kind: 'offer', title: 'Generator available' });
      entityId = change.entityId;
      cookie = seeded.volunteer.client.sessionCookie!;
      const pushed = await seeded.volunteer.client.post('/api/sync/push', { clientId: 'c', changes: [change, change] });
      expect(pushed.body.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'duplicate']);
      const pulled = await seeded.volunteer.client.post('/api/sync/pull', { clientId: 'c', cursor: null });
      expect(pulled.body.records.some((r: { entityId: string }) => r.entityId === entityId)).toBe(true);
    } finally {
      expect(await first.stop('SIGTERM')).toBe(0);
    }
    const second = await spawnServer({ DATA_DIR: dataDir }, 120_000);
    try {
      // Same session (stored in the database) and same record after the restart.
      const record = await new ApiClient(second.url).get(`/api/records/update/${entityId}`, { cookie });
      expect(record.status).toBe(200);
      expect(record.body.record.fields.title).toBe('Generator available');
    } finally {
      await second.stop('SIGTERM');
    }
  }, 240_000);
});

describe('embedded mode after a crash', () => {
  it('when the process is killed with SIGKILL after a push was answered, then the write is there after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-crash-'));
    tempDirs.push(dataDir);
    const first = await spawnServer({ DATA_DIR: dataDir }, 120_000);
    const seeded = await seedCommunity(first.url);
    const change = createUpdate('n', { kind: 'need', title: 'Survives a crash' });
    const pushed = await seeded.volunteer.client.post('/api/sync/push', { clientId: 'c', changes: [change] });
    expect(pushed.body.results[0].status).toBe('applied');
    await first.stop('SIGKILL');
    const second = await spawnServer({ DATA_DIR: dataDir }, 120_000);
    try {
      const cookie = seeded.volunteer.client.sessionCookie!;
      const record = await new ApiClient(second.url).get(`/api/records/update/${change.entityId}`, { cookie });
      expect(record.body.record.fields.title).toBe('Survives a crash');
    } finally {
      await second.stop('SIGTERM');
    }
  }, 240_000);
});

describe('configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ DATABASE_URL: 'mysql://nope' }, /DATABASE_URL/],
    [{ UPSTREAM_URL: 'http://cloud.example' }, /HUB_API_KEY/],
    [{ LLM_TIMEOUT_MS: '-5' }, /LLM_TIMEOUT_MS/],
    [{ TLS_CERT_FILE: '/nonexistent/cert.pem' }, /TLS_KEY_FILE/],
    [{ TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: '/nonexistent/key.pem' }, /TLS_CERT_FILE: cannot read/],
    [{ ATTACHMENT_STORE: 'disk' }, /ATTACHMENT_STORE/],
    [{ ATTACHMENT_STORE: 's3' }, /ATTACHMENT_S3_BUCKET/],
    [{ ATTACHMENT_MAX_BYTES: '0' }, /ATTACHMENT_MAX_BYTES/],
    [{ ATTACHMENT_STORE: 's3', ATTACHMENT_S3_BUCKET: 'photos', ATTACHMENT_S3_ACCESS_KEY_ID: 'k' }, /SECRET_ACCESS_KEY/],
  ])(
    'when the environment has %j, then start-up fails fast naming the variable',
    async (env, pattern) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], {
        cwd: path.resolve(import.meta.dirname, '../..'),
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toMatch(pattern);
    },
    60_000,
  );
});

describe('graceful shutdown', () => {
  it('when SIGTERM arrives during a request, then that request completes and the process exits 0', async () => {
    const database = await createTestDatabase();
    const server = await spawnServer({ DATABASE_URL: database.url });
    try {
      const seeded = await seedCommunity(server.url);
      const changes = Array.from({ length: 500 }, () => createUpdate('n'));
      const inFlight = seeded.volunteer.client.post('/api/sync/push', { clientId: 'c', changes });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const exit = server.stop('SIGTERM');
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.body.results).toHaveLength(500);
      expect(await exit).toBe(0);
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      await server.stop('SIGKILL');
      await database.drop();
    }
  }, 60_000);
});
