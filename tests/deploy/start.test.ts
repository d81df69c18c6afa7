/**
 * `npm start` as the README gives it: scripts/start.mjs bundles the server
 * (scripts/build-server.mjs) and serves it under plain Node, embedded
 * database by default. Proves the bundle finds its migrations and the web
 * app, syncs, and stops cleanly on SIGTERM.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { spawnServer, type ServerProcess } from '../helpers/process';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-start-'));
  // A stand-in web app, so the test does not wait on a PWA build (the e2e suite serves the real one).
  await fs.mkdir(path.join(dir, 'app'));
  await fs.writeFile(path.join(dir, 'app/index.html'), '<!doctype html><title>Lifeline</title>');
  // A clean environment: no DATABASE_URL from the caller, so the embedded default is what starts.
  server = await spawnServer(
    { DATA_DIR: path.join(dir, 'data'), FRONTEND_DIR: path.join(dir, 'app'), DATABASE_URL: '' },
    90_000,
    'start-script',
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('npm start (scripts/start.mjs)', () => {
  it('serves the bundled server in embedded mode, with the app on the same origin', async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', mode: 'embedded' });
    expect(await (await fetch(`${server.url}/`)).text()).toContain('<title>Lifeline</title>');
    const missing = await fetch(`${server.url}/api/no-such-thing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('syncs: a push is pulled back by another member', async () => {
    const seeded = await seedCommunity(server.url);
    const change = createUpdate('start-test', { kind: 'need', title: 'Water at the school' });
    const pushed = await seeded.volunteer.client.post('/api/sync/push', { clientId: 'start-test', changes: [change] });
    expect(pushed.status).toBe(200);
    expect(pushed.body.results[0].status).toBe('applied');
    const reader: ApiClient = seeded.coordinator.client;
    const pulled = await reader.post('/api/sync/pull', { clientId: 'reader', cursor: null });
    expect(pulled.body.records.map((r: { entityId: string }) => r.entityId)).toContain(change.entityId);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
