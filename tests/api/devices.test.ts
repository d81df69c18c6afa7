import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;

beforeAll(async () => {
  server = await startTestServer();
  seeded = await seedCommunity(server.url);
});
afterAll(async () => server.stop());

describe('hub devices', () => {
  it('when an admin registers a hub, then its key is shown once, works as a bearer, and is stored only hashed', async () => {
    const created = await seeded.admin.post('/api/devices', { name: 'Library hub', kind: 'hub' });
    expect(created.status).toBe(201);
    const { device, apiKey } = created.body;
    expect(device).toMatchObject({ name: 'Library hub', kind: 'hub', status: 'active', lastSeenAt: null });
    expect(apiKey).toMatch(/^ll_[\w-]{40,}$/);

    const listed = await seeded.admin.get('/api/devices');
    expect(JSON.stringify(listed.body)).not.toContain(apiKey);
    const stored = await server.server.ctx.db.query<{ api_key_hash: string }>('SELECT api_key_hash FROM devices');
    expect(stored.rows.map((row) => row.api_key_hash)).not.toContain(apiKey);

    const hub = new ApiClient(server.url, apiKey);
    const pushed = await hub.post('/api/sync/push', { clientId: 'hub', changes: [createUpdate('hub1')] });
    expect(pushed.body.results[0].status).toBe('applied');
    const pulled = await hub.post('/api/sync/pull', { clientId: 'hub', cursor: null });
    expect(pulled.status).toBe(200);
    const users = pulled.body.records.filter((r: { entityType: string }) => r.entityType === 'user');
    // Hubs get password hashes so members can sign in during an outage.
    expect(users[0].fields.passwordHash).toMatch(/^scrypt\$/);
    const exported = await fetch(`${server.url}/api/sync/export`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(exported.status).toBe(200);
    expect((await exported.text()).trim().split('\n').length).toBe(pulled.body.records.length);

    const seen = (await seeded.admin.get('/api/devices')).body.devices.find((d: { id: string }) => d.id === device.id);
    expect(seen.lastSeenAt).not.toBeNull();
  });

  it('when a hub is suspended, then its key is refused until resumed; when deleted, then it is unknown', async () => {
    const { device, apiKey } = (await seeded.admin.post('/api/devices', { name: 'School hub', kind: 'hub' })).body;
    const hub = new ApiClient(server.url, apiKey);
    expect((await seeded.admin.post(`/api/devices/${device.id}/suspend`)).body.device.status).toBe('suspended');
    const refused = await hub.post('/api/sync/pull', { clientId: 'hub', cursor: null });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('device_suspended');
    expect((await seeded.admin.post(`/api/devices/${device.id}/resume`)).body.device.status).toBe('active');
    expect((await hub.post('/api/sync/pull', { clientId: 'hub', cursor: null })).status).toBe(200);
    expect((await seeded.admin.request('DELETE', `/api/devices/${device.id}`)).status).toBe(204);
    expect((await hub.post('/api/sync/pull', { clientId: 'hub', cursor: null })).status).toBe(401);
    expect((await seeded.admin.request('DELETE', `/api/devices/${device.id}`)).status).toBe(404);
  });

  it('when a non-admin manages devices, or the body is wrong, then 403 or 400', async () => {
    expect((await seeded.coordinator.client.post('/api/devices', { name: 'x', kind: 'hub' })).status).toBe(403);
    expect((await seeded.coordinator.client.get('/api/devices')).status).toBe(403);
    expect((await seeded.admin.post('/api/devices', { name: 'x', kind: 'phone' })).status).toBe(400);
    expect((await seeded.admin.post('/api/devices', { kind: 'hub' })).status).toBe(400);
  });

  it('when a browser member tries to forward changes as someone else, then that change is rejected', async () => {
    const change = { ...createUpdate('n'), author: 'someone-else' };
    const reply = await seeded.volunteer.client.post('/api/sync/push', { clientId: 'c', changes: [change] });
    expect(reply.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'forbidden' } });
  });
});
