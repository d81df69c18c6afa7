/**
 * The outage drill in miniature: a hub (a real process, its own Postgres)
 * serves members while the cloud is stopped, then reconciles when the cloud
 * returns. Both end with the same records, no write lost, and the concurrent
 * edit made on each side during the outage kept as one conflict on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/server';
import { ApiClient, createUpdate, edit, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

let cloudDb: TestDatabase;
let hubDb: TestDatabase;
let cloudPort: number;
let cloud: RunningServer | undefined;
let hub: ServerProcess;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
let hubKey: string;

const startCloud = async () =>
  startServer(
    loadConfig({ PORT: String(cloudPort), HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_URL: cloudDb.url }),
  );

async function snapshot(client: ApiClient) {
  const records = new Map<string, { fields: unknown; stamps: unknown; deletedAt: unknown }>();
  let cursor: string | null = null;
  for (;;) {
    const reply: { body: any } = await client.post('/api/sync/pull', { clientId: 'snapshot', cursor });
    for (const r of reply.body.records) {
      records.set(`${r.entityType}/${r.entityId}`, { fields: r.fields, stamps: r.stamps, deletedAt: r.deletedAt });
    }
    cursor = reply.body.cursor;
    if (!reply.body.hasMore) return records;
  }
}

async function signIn(url: string, email: string, password: string) {
  const client = new ApiClient(url);
  const reply = await client.post('/api/auth/login', { email, password });
  return reply.status === 200 ? client : undefined;
}

beforeAll(async () => {
  [cloudDb, hubDb] = await Promise.all([createTestDatabase('lifeline_cloud'), createTestDatabase('lifeline_hub')]);
  cloudPort = await freePort();
  cloud = await startCloud();
  seeded = await seedCommunity(cloud.url);
  const device = await seeded.admin.post('/api/devices', { name: 'Library hub', kind: 'hub' });
  hub = await spawnServer({
    DATABASE_URL: hubDb.url,
    UPSTREAM_URL: cloud.url,
    HUB_API_KEY: (hubKey = device.body.apiKey),
    UPSTREAM_INTERVAL_MS: '300',
    UPSTREAM_BACKOFF_MAX_MS: '1000',
  });
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  await cloud?.close(1000);
  await Promise.all([cloudDb?.drop(), hubDb?.drop()]);
});

describe('hub mode', () => {
  it('when the cloud goes down and comes back, then the hub keeps working and both converge', async () => {
    // Members sign in at the hub with their cloud passwords (hashes came down with the user records).
    const atHub = await until('volunteer can sign in at the hub', () =>
      signIn(hub.url, 'victor@eastside.example', 'password-123'),
    );
    const coordinatorAtHub = await until('coordinator can sign in at the hub', () =>
      signIn(hub.url, 'cora@eastside.example', 'password-123'),
    );
    const localSetup = await new ApiClient(hub.url).post('/api/auth/setup', {
      community: 'Split',
      email: 'x@split.example',
      password: 'password-123',
      displayName: 'X',
    });
    expect(localSetup.status).toBe(409);
    // The hub's operator can read its status with the hub's own key, and nothing else.
    const operator = new ApiClient(hub.url, hubKey);
    const byKey = await operator.get('/api/sync/status');
    expect(byKey.body).toMatchObject({
      mode: 'hub',
      communityId: seeded.adminUser.communityId,
      upstream: { state: 'online' },
    });
    expect((await operator.post('/api/sync/pull', { clientId: 'x', cursor: null })).status).toBe(403);
    const hubStatus = await atHub.get('/api/sync/status');
    expect(hubStatus.body).toMatchObject({ mode: 'hub', upstream: { state: 'online', pendingUp: 0 } });
    expect(hubStatus.body.serverId).not.toBe((await seeded.admin.get('/api/sync/status')).body.serverId);

    // Written at the hub, it reaches the cloud; written at the cloud, it reaches the hub.
    const fromHub = createUpdate('hubBrowser', { kind: 'need', title: 'Sandbags at the bridge' });
    expect((await atHub.post('/api/sync/push', { clientId: 'hb', changes: [fromHub] })).body.results[0].status).toBe(
      'applied',
    );
    const shared = createUpdate('cloudBrowser', { kind: 'status', title: 'Shelter open' });
    await seeded.volunteer.client.post('/api/sync/push', { clientId: 'cb', changes: [shared] });
    const atCloud = await until('hub write reaches the cloud', async () => {
      const reply = await seeded.volunteer.client.get(`/api/records/update/${fromHub.entityId}`);
      return reply.status === 200 ? reply.body.record : undefined;
    });
    expect(atCloud.fields.createdBy).toBe(seeded.volunteer.user.id); // the author, not the hub
    await until('cloud write reaches the hub', async () => {
      const reply = await atHub.get(`/api/records/update/${shared.entityId}`);
      return reply.status === 200;
    });

    // Outage: the cloud stops. The hub goes on accepting writes and says it is offline.
    await cloud!.close(1000);
    cloud = undefined;
    const duringOutage = createUpdate('hubBrowser', { kind: 'incident', title: 'Power out on Elm St' });
    const hubEdit = edit(
      'hubBrowser',
      shared.entityId,
      { title: 'Shelter open until 9pm' },
      { title: shared.stamps.title },
    );
    const pushed = await atHub.post('/api/sync/push', { clientId: 'hb', changes: [duringOutage, hubEdit] });
    expect(pushed.body.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied']);
    const offline = await until('hub reports the cloud offline', async () => {
      const status = (await atHub.get('/api/sync/status')).body;
      return status.upstream.state === 'offline' ? status : undefined;
    });
    expect(offline.upstream.pendingUp).toBeGreaterThanOrEqual(2);
    expect(offline.upstream.lastError).toMatch(/unreachable/);

    // The cloud returns; meanwhile someone edited the same title there from the same base.
    cloud = await startCloud();
    const cloudCoordinator = (await signIn(cloud.url, 'cora@eastside.example', 'password-123'))!;
    const cloudEdit = edit('cloudBrowser', shared.entityId, { title: 'Shelter full' }, { title: shared.stamps.title });
    await cloudCoordinator.post('/api/sync/push', { clientId: 'cb', changes: [cloudEdit] });

    await until('hub drains its queue', async () => {
      const status = (await atHub.get('/api/sync/status')).body;
      return status.upstream.state === 'online' && status.upstream.pendingUp === 0 && status.pendingConflicts > 0;
    });
    const cloudAdmin = (await signIn(cloud.url, 'admin@eastside.example', 'correct horse battery'))!;
    const hubAdmin = (await signIn(hub.url, 'admin@eastside.example', 'correct horse battery'))!;
    const converged = async () => {
      const [c, h] = await Promise.all([snapshot(cloudAdmin), snapshot(hubAdmin)]);
      return JSON.stringify([...c.entries()].sort()) === JSON.stringify([...h.entries()].sort()) ? c : undefined;
    };
    const state = await until('cloud and hub converge', converged);
    expect(state.has(`update/${duringOutage.entityId}`)).toBe(true);

    // Neither title is lost: one wins, the other is in the conflict, the same conflict on both sides.
    const conflicts = (await cloudCoordinator.get('/api/conflicts?status=open')).body.conflicts.filter(
      (c: { entityId: string }) => c.entityId === shared.entityId,
    );
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].values.map((v: { value: string }) => v.value).sort()).toEqual([
      'Shelter full',
      'Shelter open until 9pm',
    ]);

    // Resolved at the hub, the resolution reaches the cloud.
    const resolved = await coordinatorAtHub.post(`/api/conflicts/${conflicts[0].id}/resolve`, {
      value: 'Shelter open, nearly full',
    });
    expect(resolved.status).toBe(200);
    await until('resolution reaches the cloud', async () => {
      const record = (await cloudCoordinator.get(`/api/records/update/${shared.entityId}`)).body.record;
      const conflict = (await cloudCoordinator.get(`/api/records/conflict/${conflicts[0].id}`)).body.record;
      return record.fields.title === 'Shelter open, nearly full' && conflict.fields.status === 'resolved';
    });
    await until('cloud and hub converge after the resolution', converged);
  }, 120_000);
});
