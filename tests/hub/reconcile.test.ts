/**
 * Reconciling a hub with the cloud after the link between them was cut (it
 * runs through a fault proxy): nothing either side accepted is lost.
 *
 * Accounts flow both ways, like every record:
 * made at the hub during an outage, they can sign in at the cloud afterwards;
 * role, disabling and password changes at either side reach the other;
 * disabling wins over a concurrent change; and the same email made on both
 * sides becomes one open conflict an admin settles (never a 500, never a
 * dropped account). The link between them runs through a fault proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/server';
import { ADMIN, ApiClient, createUpdate, edit, seedCommunity, stamp } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { FaultProxy } from '../helpers/fault-proxy';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

let cloudDb: TestDatabase;
let hubDb: TestDatabase;
let cloud: RunningServer;
let hub: ServerProcess;
let link: FaultProxy;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
let hubStatus: ApiClient;
let adminAtHub: ApiClient;
let adminAtCloud: ApiClient;

async function signIn(url: string, email: string, password: string) {
  const client = new ApiClient(url);
  const reply = await client.post('/api/auth/login', { email, password });
  return reply.status === 200 ? client : undefined;
}

const canSignIn = async (url: string, email: string, password: string) =>
  (await signIn(url, email, password)) !== undefined;

/** Two full hub rounds (push, then pull) that both started after this call. */
async function hubSynced(): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    const mark = new Date().toISOString();
    await until('a hub round after the mark', async () => {
      const { upstream } = (await hubStatus.get('/api/sync/status')).body;
      return upstream.state === 'online' && upstream.pendingUp === 0 && upstream.lastSyncAt > mark;
    });
  }
}

async function member(client: ApiClient, email: string) {
  const { users } = (await client.get('/api/users')).body as {
    users: Array<{ id: string; email: string; role: string; disabled: boolean; duplicateEmail: boolean }>;
  };
  return users.filter((user) => user.email === email);
}

/** The user records as each side stores them: they must be equal. */
async function userRecord(client: ApiClient, id: string) {
  const { record } = (await client.get(`/api/records/user/${id}`)).body;
  return { fields: record.fields, stamps: record.stamps, deletedAt: record.deletedAt };
}

beforeAll(async () => {
  [cloudDb, hubDb] = await Promise.all([createTestDatabase('lifeline_cloud'), createTestDatabase('lifeline_hub')]);
  const cloudPort = await freePort();
  cloud = await startServer(
    loadConfig({ PORT: String(cloudPort), HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_URL: cloudDb.url }),
  );
  seeded = await seedCommunity(cloud.url);
  adminAtCloud = seeded.admin;
  const device = await adminAtCloud.post('/api/devices', { name: 'School hub', kind: 'hub' });
  link = await FaultProxy.start(cloudPort);
  hub = await spawnServer({
    DATABASE_URL: hubDb.url,
    UPSTREAM_URL: link.url,
    HUB_API_KEY: device.body.apiKey,
    UPSTREAM_INTERVAL_MS: '300',
    UPSTREAM_BACKOFF_MAX_MS: '500',
  });
  hubStatus = new ApiClient(hub.url, device.body.apiKey);
  adminAtHub = await until('the admin can sign in at the hub', () => signIn(hub.url, ADMIN.email, ADMIN.password));
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  await link?.stop();
  await cloud?.close(1000);
  await Promise.all([cloudDb?.drop(), hubDb?.drop()]);
});

describe('accounts between a hub and the cloud', () => {
  it('when an admin at the hub creates an account, then it reaches the cloud with the same id and password', async () => {
    const created = await adminAtHub.post('/api/users', {
      email: 'hana@eastside.example',
      password: 'hub-password-1',
      displayName: 'Hana',
      role: 'volunteer',
    });
    expect(created.status).toBe(201);
    await hubSynced();
    const atCloud = await signIn(cloud.url, 'hana@eastside.example', 'hub-password-1');
    expect(atCloud).toBeDefined();
    expect((await atCloud!.get('/api/auth/me')).body.user).toMatchObject({
      id: created.body.user.id,
      communityId: seeded.adminUser.communityId,
    });
    expect(await userRecord(adminAtCloud, created.body.user.id)).toEqual(
      await userRecord(adminAtHub, created.body.user.id),
    );
  });

  it('when role, disabling and passwords change at either side, then the other side follows', async () => {
    const [hana] = await member(adminAtCloud, 'hana@eastside.example');
    expect((await adminAtCloud.request('PATCH', `/api/users/${hana!.id}`, { role: 'coordinator' })).status).toBe(200);
    const victor = seeded.volunteer.user;
    expect(
      (await adminAtHub.request('PATCH', `/api/users/${victor.id}`, { password: 'changed-at-hub-1' })).status,
    ).toBe(200);
    const cora = (await member(adminAtCloud, 'cora@eastside.example'))[0]!;
    expect((await adminAtHub.request('PATCH', `/api/users/${cora.id}`, { disabled: true })).status).toBe(200);
    await hubSynced();

    expect((await member(adminAtHub, 'hana@eastside.example'))[0]!.role).toBe('coordinator');
    expect(await canSignIn(cloud.url, victor.email, 'changed-at-hub-1')).toBe(true);
    expect(await canSignIn(cloud.url, victor.email, 'password-123')).toBe(false);
    // Disabled at the hub: her session at the cloud has ended and she cannot sign in there.
    expect((await seeded.coordinator.client.get('/api/auth/me')).status).toBe(401);
    expect(await canSignIn(cloud.url, cora.email, 'password-123')).toBe(false);

    // Re-enabled at the cloud by an admin who saw the disable: re-enabled everywhere.
    expect((await adminAtCloud.request('PATCH', `/api/users/${cora.id}`, { disabled: false })).status).toBe(200);
    await hubSynced();
    expect(await canSignIn(hub.url, cora.email, 'password-123')).toBe(true);
    expect(await userRecord(adminAtCloud, cora.id)).toEqual(await userRecord(adminAtHub, cora.id));
  });

  it('when the hub disables someone during an outage while the cloud re-enables and promotes them, then disabled wins on both sides', async () => {
    const victor = seeded.volunteer.user;
    await link.setMode({ kind: 'refuse' });
    expect((await adminAtHub.request('PATCH', `/api/users/${victor.id}`, { disabled: true })).status).toBe(200);
    expect((await adminAtCloud.request('PATCH', `/api/users/${victor.id}`, { disabled: true })).status).toBe(200);
    expect((await adminAtCloud.request('PATCH', `/api/users/${victor.id}`, { disabled: false })).status).toBe(200);
    expect((await adminAtCloud.request('PATCH', `/api/users/${victor.id}`, { role: 'coordinator' })).status).toBe(200);
    expect(await canSignIn(cloud.url, victor.email, 'changed-at-hub-1')).toBe(true);
    await link.setMode({ kind: 'pass' });
    await hubSynced();

    for (const side of [adminAtCloud, adminAtHub]) {
      expect((await member(side, victor.email))[0]).toMatchObject({ disabled: true, role: 'coordinator' });
    }
    expect(await canSignIn(cloud.url, victor.email, 'changed-at-hub-1')).toBe(false);
    expect(await canSignIn(hub.url, victor.email, 'changed-at-hub-1')).toBe(false);
    expect(await userRecord(adminAtCloud, victor.id)).toEqual(await userRecord(adminAtHub, victor.id));
    // The enable that lost is not dropped: it is an open conflict, the same one on both sides.
    const openAt = async (side: ApiClient) =>
      (await side.get('/api/conflicts?status=open')).body.conflicts.filter(
        (c: { entityId: string; field: string }) => c.entityId === victor.id && c.field === 'disabled',
      );
    const atCloud = await openAt(adminAtCloud);
    expect(atCloud).toHaveLength(1);
    expect(atCloud[0].values.map((v: { value: boolean }) => v.value).sort()).toEqual([false, true]);
    expect((await openAt(adminAtHub)).map((c: { id: string }) => c.id)).toEqual([atCloud[0].id]);
  });

  it('when the same email is created on both sides during an outage, then both accounts are kept and an admin settles it', async () => {
    await link.setMode({ kind: 'refuse' });
    const email = 'sam@eastside.example';
    const atHub = await adminAtHub.post('/api/users', {
      email,
      password: 'sam-at-hub-1',
      displayName: 'Sam (hub)',
      role: 'volunteer',
    });
    const atCloud = await adminAtCloud.post('/api/users', {
      email,
      password: 'sam-at-cloud-1',
      displayName: 'Sam (cloud)',
      role: 'volunteer',
    });
    expect([atHub.status, atCloud.status]).toEqual([201, 201]);
    await link.setMode({ kind: 'pass' });
    await hubSynced();
    const { upstream } = (await hubStatus.get('/api/sync/status')).body;
    expect(upstream).toMatchObject({ state: 'online', lastError: null, rejectedUp: 0 });

    // Both accounts on both sides; the earlier one (made at the hub) holds the email for sign-in.
    for (const side of [adminAtCloud, adminAtHub]) {
      const both = await member(side, email);
      expect(both.map((user) => [user.id, user.duplicateEmail]).sort()).toEqual(
        [
          [atHub.body.user.id, false],
          [atCloud.body.user.id, true],
        ].sort(),
      );
    }
    for (const url of [cloud.url, hub.url]) {
      expect(await canSignIn(url, email, 'sam-at-hub-1')).toBe(true);
      expect(await canSignIn(url, email, 'sam-at-cloud-1')).toBe(false);
    }
    const emailConflicts = async (side: ApiClient) =>
      (await side.get('/api/conflicts?status=open')).body.conflicts.filter(
        (c: { entityId: string; field: string }) => c.field === 'email' && c.entityId === atCloud.body.user.id,
      );
    const [problem] = await emailConflicts(adminAtCloud);
    expect(problem).toMatchObject({ entityType: 'user', status: 'open' });
    expect((await emailConflicts(adminAtHub)).map((c: { id: string }) => c.id)).toEqual([problem.id]);

    // Settled at the cloud: the same email again is refused; another one releases the account.
    const coordinator = (await signIn(cloud.url, 'cora@eastside.example', 'password-123'))!;
    const coordinatorTries = await coordinator.post(`/api/conflicts/${problem.id}/resolve`, {
      value: 'x@eastside.example',
    });
    expect(coordinatorTries.status).toBe(403);
    const same = await adminAtCloud.post(`/api/conflicts/${problem.id}/resolve`, { value: email });
    expect(same.status).toBe(409);
    expect(same.body.error.code).toBe('email_taken');
    const settled = await adminAtCloud.post(`/api/conflicts/${problem.id}/resolve`, {
      value: 'sam.cloud@eastside.example',
    });
    expect(settled.status).toBe(200);
    await hubSynced();
    for (const url of [cloud.url, hub.url]) {
      expect(await canSignIn(url, email, 'sam-at-hub-1')).toBe(true);
      expect(await canSignIn(url, 'sam.cloud@eastside.example', 'sam-at-cloud-1')).toBe(true);
    }
    expect(await emailConflicts(adminAtHub)).toEqual([]);
    for (const id of [atHub.body.user.id, atCloud.body.user.id]) {
      expect(await userRecord(adminAtCloud, id)).toEqual(await userRecord(adminAtHub, id));
    }
  });
});

describe('edits between a hub and the cloud', () => {
  const title = async (side: ApiClient, id: string) => {
    const { record } = (await side.get(`/api/records/update/${id}`)).body;
    return { fields: record.fields, stamps: record.stamps } as {
      fields: { title: string };
      stamps: Record<string, string>;
    };
  };
  const openConflictsOn = async (side: ApiClient, id: string) =>
    (await side.get('/api/conflicts?status=open')).body.conflicts.filter(
      (c: { entityId: string }) => c.entityId === id,
    );

  it("when the cloud makes two edits in a row during an outage, then the hub's concurrent edit is kept as a conflict", async () => {
    const created = createUpdate('cloudTab', { kind: 'need', title: 'Blankets' });
    await adminAtCloud.post('/api/sync/push', { clientId: 'cloudTab', changes: [created] });
    await hubSynced();
    await link.setMode({ kind: 'refuse' });
    const fromHub = edit('hubTab', created.entityId, { title: 'Blankets (hub)' }, { title: created.stamps.title });
    expect((await adminAtHub.post('/api/sync/push', { clientId: 'hubTab', changes: [fromHub] })).status).toBe(200);
    // Two edits in sequence at the cloud, both after the hub's: the second saw only the first.
    const first = edit('cloudTab', created.entityId, { title: 'Blankets x20' }, { title: created.stamps.title });
    await adminAtCloud.post('/api/sync/push', { clientId: 'cloudTab', changes: [first] });
    const second = edit('cloudTab', created.entityId, { title: 'Blankets x40' }, { title: first.stamps.title });
    await adminAtCloud.post('/api/sync/push', { clientId: 'cloudTab', changes: [second] });
    await link.setMode({ kind: 'pass' });
    await hubSynced();

    const [atCloud, atHub] = [await title(adminAtCloud, created.entityId), await title(adminAtHub, created.entityId)];
    expect(atCloud.fields.title).toBe('Blankets x40');
    expect(atHub).toEqual(atCloud);
    const conflicts = await openConflictsOn(adminAtCloud, created.entityId);
    expect(conflicts.flatMap((c: { values: Array<{ value: string }> }) => c.values.map((v) => v.value))).toContain(
      'Blankets (hub)',
    );
  });

  it('when a device with its clock hours ahead writes at the hub, then the clamped stamps reach the cloud and a later edit that saw it still wins', async () => {
    const ahead = Date.now() + 3 * 60 * 60 * 1000;
    const created = createUpdate('fastClock', { kind: 'offer', title: 'Ahead 1' });
    created.stamps = { kind: stamp('fastClock', ahead), title: stamp('fastClock', ahead) };
    const first = await adminAtHub.post('/api/sync/push', { clientId: 'fast', changes: [created] });
    expect(first.body.results[0]).toMatchObject({ status: 'applied', clamped: true });
    // The device edits its own write again, its base the stamp it sent (it has not pulled yet).
    const again = edit('fastClock', created.entityId, { title: 'Ahead 2' }, { title: created.stamps.title });
    again.stamps = { title: stamp('fastClock', ahead + 1000) };
    const second = await adminAtHub.post('/api/sync/push', { clientId: 'fast', changes: [again] });
    expect(second.body.results[0]).toMatchObject({ status: 'applied', clamped: true });
    // Someone at the hub saw that and edits it with an honest clock.
    const seen = await title(adminAtHub, created.entityId);
    const honest = edit('honest', created.entityId, { title: 'After' }, { title: seen.stamps.title! });
    expect(
      (await adminAtHub.post('/api/sync/push', { clientId: 'honest', changes: [honest] })).body.results[0].status,
    ).toBe('applied');
    await hubSynced();
    expect((await title(adminAtCloud, created.entityId)).fields.title).toBe('After');
    expect(await title(adminAtCloud, created.entityId)).toEqual(await title(adminAtHub, created.entityId));
    expect(await openConflictsOn(adminAtCloud, created.entityId)).toEqual([]);
  });
});
