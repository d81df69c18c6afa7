/** Structured logs carry request ids and never a password, cookie or API key. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../backend/src/config';
import { createLogger, startServer, type RunningServer } from '../../backend/src/server';
import { ApiClient, ADMIN, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const lines: string[] = [];
let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url, LOG_LEVEL: 'info' });
  // The server's own logger (redaction included), writing into our sink.
  server = await startServer(config, createLogger('info', sink));
});

afterAll(async () => {
  await server.close(1000);
  await database.drop();
});

it('when members sign in and hubs call with keys, then logs are JSON with request ids and hold no secrets', async () => {
  const seeded = await seedCommunity(server.url);
  const { apiKey } = (await seeded.admin.post('/api/devices', { name: 'Hub', kind: 'hub' })).body;
  await new ApiClient(server.url, apiKey).post('/api/sync/pull', { clientId: 'hub', cursor: null });
  await new ApiClient(server.url).post('/api/auth/login', { email: ADMIN.email, password: 'a-wrong-password' });
  await new Promise((resolve) => setTimeout(resolve, 50));

  const parsed = lines.map((line) => JSON.parse(line) as { req?: { id?: string }; msg?: string });
  const requests = parsed.filter((entry) => entry.msg === 'request completed' || entry.msg === 'request errored');
  expect(requests.length).toBeGreaterThan(5);
  for (const entry of requests) expect(entry.req?.id).toMatch(/^[\w.-]+$/);
  const all = lines.join('\n');
  for (const secret of [
    ADMIN.password,
    'a-wrong-password',
    'password-123',
    apiKey,
    seeded.admin.sessionCookie!.split('=')[1]!,
  ]) {
    expect(all).not.toContain(secret);
  }
});
