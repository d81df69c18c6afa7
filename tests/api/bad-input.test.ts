/** Every kind of bad input gets a 4xx in the contract's error shape, and nothing stored is harmed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
let volunteer: ApiClient;
let existingId: string;

const errorShape = { error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) } };

beforeAll(async () => {
  server = await startTestServer();
  seeded = await seedCommunity(server.url);
  volunteer = seeded.volunteer.client;
  const change = createUpdate('nodeV', { kind: 'need', title: 'Keep me safe' });
  await volunteer.post('/api/sync/push', { clientId: 'c', changes: [change] });
  existingId = change.entityId;
});

afterAll(async () => {
  // Whatever was thrown at it, the stored record is untouched.
  const record = (await volunteer.get(`/api/records/update/${existingId}`)).body.record;
  expect(record.fields.title).toBe('Keep me safe');
  expect(record.version).toBe(1);
  await server.stop();
});

async function raw(path: string, body: string, contentType = 'application/json') {
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': contentType, cookie: volunteer.sessionCookie! },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

describe('request bodies', () => {
  it('when JSON is malformed, then 400 invalid_json', async () => {
    const reply = await raw('/api/sync/push', '{"clientId": "c", "changes": [');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(errorShape);
    expect(reply.body.error.code).toBe('invalid_json');
  });

  it('when the body is over 5 MB, then 413', async () => {
    const huge = JSON.stringify({ clientId: 'c', changes: [{ pad: 'x'.repeat(5 * 1024 * 1024 + 10) }] });
    const reply = await raw('/api/sync/push', huge);
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe('payload_too_large');
  });

  it.each([
    ['no clientId', { changes: [createUpdate('n')] }],
    ['changes not an array', { clientId: 'c', changes: 'lots' }],
    ['zero changes', { clientId: 'c', changes: [] }],
    ['501 changes', { clientId: 'c', changes: Array.from({ length: 501 }, () => createUpdate('n')) }],
    ['body is an array', [createUpdate('n')]],
    ['clientId is a number', { clientId: 7, changes: [createUpdate('n')] }],
  ])('when the push batch is invalid (%s), then 400 and nothing is stored', async (_name, body) => {
    const reply = await volunteer.post('/api/sync/push', body);
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(errorShape);
    const changes = Array.isArray(body)
      ? body
      : Array.isArray((body as { changes?: unknown }).changes)
        ? (body as { changes: { entityId: string }[] }).changes
        : [];
    for (const change of changes.slice(0, 3)) {
      expect((await volunteer.get(`/api/records/update/${change.entityId}`)).status).toBe(404);
    }
  });

  it('when the body is not JSON at all, then 400 with the contract shape', async () => {
    const reply = await raw('/api/sync/pull', 'clientId=c', 'application/x-www-form-urlencoded');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(errorShape);
  });

  it('when a field value has the wrong type or size, then that change is rejected with the reason', async () => {
    const cases = [
      { title: 42 },
      { title: '   ' },
      { body: 'x'.repeat(10_001) },
      { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { location: { lat: 91 } },
      { location: { label: 'x', extra: true } },
      { priority: 'urgent!!' },
    ];
    const changes = cases.map((fields) => createUpdate('n', { kind: 'need', title: 'ok', ...fields }));
    const reply = await volunteer.post('/api/sync/push', { clientId: 'c', changes });
    expect(reply.status).toBe(200);
    for (const result of reply.body.results) {
      expect(result.status).toBe('rejected');
      expect(result.error.code).toBe('invalid_field');
    }
  });

  it('when a change tries to overwrite an existing record with garbage, then it is rejected and the record is intact', async () => {
    const change = { ...createUpdate('n', { title: '' }, existingId) };
    const reply = await volunteer.post('/api/sync/push', { clientId: 'c', changes: [change] });
    expect(reply.body.results[0].status).toBe('rejected');
  });
});

describe('paths, params and queries', () => {
  it('when the route does not exist, then 404 in the contract shape', async () => {
    for (const path of ['/api/nothing', '/api/sync/nothing', '/api']) {
      const reply = await volunteer.get(path);
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual(errorShape);
    }
    const wrongMethod = await volunteer.request('DELETE', '/api/sync/push');
    expect(wrongMethod.status).toBe(404);
  });

  it('when the entity type is unknown or the id is not a UUID, then 400; a missing record is 404', async () => {
    expect((await volunteer.get(`/api/records/spaceship/${existingId}`)).body.error.code).toBe('unknown_entity_type');
    expect((await volunteer.get('/api/records/update/not-a-uuid')).status).toBe(400);
    expect((await volunteer.get('/api/records/update/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('when the conflicts status filter is unknown, then 400', async () => {
    const reply = await seeded.coordinator.client.get('/api/conflicts?status=maybe');
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual(errorShape);
  });

  it('when a device id is malformed or unknown, then 400 or 404', async () => {
    expect((await seeded.admin.post('/api/devices/nope/suspend')).status).toBe(400);
    expect((await seeded.admin.post('/api/devices/00000000-0000-4000-8000-000000000000/suspend')).status).toBe(404);
  });
});

describe('headers', () => {
  it.each([['Basic abc'], ['Bearer'], ['Bearer a b'], ['Bearer not-a-real-key']])(
    'when Authorization is "%s", then 401 and not a 500',
    async (header) => {
      const reply = await new ApiClient(server.url).post(
        '/api/sync/pull',
        { clientId: 'c', cursor: null },
        { authorization: header },
      );
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual(errorShape);
    },
  );

  it('when the session cookie is forged, then the request is simply unauthenticated', async () => {
    const reply = await new ApiClient(server.url).get('/api/auth/me', { cookie: 'lifeline.sid=s%3Aforged.signature' });
    expect(reply.status).toBe(401);
  });

  it('when nobody is signed in, then sync endpoints answer 401', async () => {
    const anonymous = new ApiClient(server.url);
    expect((await anonymous.post('/api/sync/push', { clientId: 'c', changes: [createUpdate('n')] })).status).toBe(401);
    expect((await anonymous.post('/api/sync/pull', { clientId: 'c', cursor: null })).status).toBe(401);
    expect((await anonymous.get('/api/sync/status')).status).toBe(401);
  });
});

describe('hostile keys', () => {
  it('when a change writes "__proto__" or "constructor", then it is rejected as an unknown field, not a 500', async () => {
    for (const key of ['__proto__', 'constructor', 'toString']) {
      const change = createUpdate('n', { kind: 'need', title: 'ok' });
      const body = JSON.stringify({ clientId: 'c', changes: [change] }).replace(
        '"title":"ok"',
        `"title":"ok","${key}":{"polluted":true}`,
      );
      const withStamp = body.replace(/"stamps":\{/, `"stamps":{"${key}":"${change.stamps.title}",`);
      const reply = await raw('/api/sync/push', withStamp);
      expect(reply.status).toBe(200);
      expect(reply.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'unknown_field' } });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
