/**
 * The restore drill, with the shipped scripts on real clusters: write, back
 * up (npm run backup), write more, restore (npm run restore) into a fresh
 * cluster whose transaction counter is far below the stored positions, start
 * the server on it. It must re-base: a new server id, old cursors refused
 * with `cursor_mismatch`, a pull from the start returns the restored state
 * exactly, and nothing written after the restore is skipped or lost. Then
 * what the restore lost comes back from those who still hold it: a device
 * running the PWA's own sync code (the chaos harness's simulated browser)
 * offers it again, and a hub sends again the changes it had delivered.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '@lifeline/core';
import { preloadRecords } from '../../scripts/bench/preload';
import { SimulatedBrowser } from '../chaos/browser';
import { Rng } from '../chaos/random';
import { ADMIN, ApiClient, createUpdate, pullAll, seedCommunity } from '../helpers/client';
import { createCluster, type Cluster } from '../helpers/cluster';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PRELOADED = Number(process.env.RESTORE_DRILL_RECORDS ?? 20_000);

let source: Cluster;
let target: Cluster;
let workDir: string;
const servers: ServerProcess[] = [];

function script(name: string, args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`${name} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

async function recordCount(cluster: Cluster, database: string, entityId: string): Promise<number> {
  const rows = await cluster.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM records WHERE entity_id = $1`,
    [entityId],
    database,
  );
  return rows[0]!.n;
}

async function serverId(url: string): Promise<string> {
  return ((await (await fetch(`${url}/readyz`)).json()) as { serverId: string }).serverId;
}

beforeAll(async () => {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-drill-'));
  source = await createCluster();
  // The source has run a while: its transaction counter is far above a fresh cluster's.
  await source.burnTransactionIdsTo(50_000n);
  target = await createCluster();
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')));
  await source?.destroy();
  await target?.destroy();
  await fs.rm(workDir, { recursive: true, force: true });
});

describe('restore drill', () => {
  it('when a backup is restored into a fresh cluster, then the server re-bases and clients converge without losing later writes', async () => {
    const sourceUrl = await source.createDatabase('lifeline');
    const before = await spawnServer({ DATABASE_URL: sourceUrl });
    servers.push(before);
    const seeded = await seedCommunity(before.url);
    const writer = seeded.volunteer.client;
    await preloadRecords(sourceUrl, seeded.adminUser.communityId, seeded.volunteer.user.id, PRELOADED);
    const early = Array.from({ length: 50 }, () => createUpdate('drill', { kind: 'need', title: 'Before the backup' }));
    expect((await writer.post('/api/sync/push', { clientId: 'drill', changes: early })).status).toBe(200);
    const reader = seeded.coordinator.client;
    const beforeBackup = await pullAll(reader, null);
    expect(beforeBackup.ids).toHaveLength(PRELOADED + 50);

    const dump = path.join(workDir, 'lifeline.dump');
    let started = performance.now();
    script('backup', ['--to', dump], { DATABASE_URL: sourceUrl });
    const backupMs = performance.now() - started;

    // Written after the backup: lost by the restore, as a restore loses them.
    const late = Array.from({ length: 30 }, () => createUpdate('drill', { kind: 'need', title: 'After the backup' }));
    expect((await writer.post('/api/sync/push', { clientId: 'drill', changes: late })).status).toBe(200);
    const oldCursor = (await pullAll(reader, beforeBackup.cursor)).cursor;
    const oldServerId = await serverId(before.url);
    await before.stop();

    const restoredUrl = target.url('lifeline_restored');
    started = performance.now();
    script('restore', ['--from', dump, '--to', restoredUrl]);
    const restoreMs = performance.now() - started;
    // The restored rows carry transaction ids far above this fresh cluster's counter.
    expect(
      BigInt(
        (
          await target.query<{ max: string }>(`SELECT max(tx_id)::text AS max FROM records`, [], 'lifeline_restored')
        )[0]!.max,
      ),
    ).toBeGreaterThan(await target.currentTxId());

    started = performance.now();
    const after = await spawnServer({ DATABASE_URL: restoredUrl });
    servers.push(after);
    const startMs = performance.now() - started;
    expect(await serverId(after.url)).not.toBe(oldServerId);

    const readerAfter = new ApiClient(after.url);
    expect(
      (await readerAfter.post('/api/auth/login', { email: 'cora@eastside.example', password: 'password-123' })).status,
    ).toBe(200);
    const stale = await pullAll(readerAfter, oldCursor);
    expect(stale).toMatchObject({ status: 409, code: 'cursor_mismatch' });
    // It says the cursor is its own from before the restore: the client may hold what the restore lost.
    const refused = await readerAfter.post('/api/sync/pull', { clientId: 'drill', cursor: oldCursor });
    expect(refused.body.error).toMatchObject({ code: 'cursor_mismatch', restored: true });
    const fresh = await pullAll(readerAfter, null);
    expect(new Set(fresh.ids)).toEqual(new Set(beforeBackup.ids));

    // A change the writer still held unsent, and new writes after the restore: all reach a reader.
    const writerAfter = new ApiClient(after.url);
    expect(
      (await writerAfter.post('/api/auth/login', { email: 'victor@eastside.example', password: 'password-123' }))
        .status,
    ).toBe(200);
    const unsent = createUpdate('drill', { kind: 'offer', title: 'Held offline during the restore' });
    const pushed = await writerAfter.post('/api/sync/push', { clientId: 'drill', changes: [unsent] });
    expect(pushed.body.results[0].status).toBe('applied');
    const newer = Array.from({ length: 20 }, () => createUpdate('drill', { kind: 'need', title: 'After the restore' }));
    await writerAfter.post('/api/sync/push', { clientId: 'drill', changes: newer });
    const delta = await pullAll(readerAfter, fresh.cursor);
    expect(new Set(delta.ids)).toEqual(new Set([unsent.entityId, ...newer.map((change) => change.entityId)]));

    console.log(
      `restore drill: ${PRELOADED + 50} records; backup ${(backupMs / 1000).toFixed(1)} s, restore ` +
        `${(restoreMs / 1000).toFixed(1)} s, first start with re-base ${(startMs / 1000).toFixed(1)} s`,
    );
  }, 300_000);

  it('when a device holds writes the restore lost, then it offers them again and a fresh device gets its values', async () => {
    const sourceUrl = await source.createDatabase('lifeline_pwa');
    const port = String(await freePort());
    let server = await spawnServer({ DATABASE_URL: sourceUrl, PORT: port });
    servers.push(server);
    const seeded = await seedCommunity(server.url);
    const victor = { userId: seeded.volunteer.user.id, email: 'victor@eastside.example', password: 'password-123' };
    const cora = { userId: 'cora', email: 'cora@eastside.example', password: 'password-123' };
    const runId = `restore-${Date.now()}`;
    const device = new SimulatedBrowser('device', victor, 'cloud', 0, () => server.url, new Rng(11));
    await device.open(runId);

    await device.create();
    expect(await device.sync('before the backup')).toMatchObject({ ok: true, pushed: 1 });
    const dump = path.join(workDir, 'pwa.dump');
    script('backup', ['--to', dump], { DATABASE_URL: sourceUrl });

    // After the backup: an edit of A and a new record B, both accepted by the server.
    for (let tries = 0; !(await device.edit()); tries += 1) expect(tries).toBeLessThan(20);
    await device.create();
    expect(await device.sync('after the backup')).toMatchObject({ ok: true, pushed: 2 });
    const [createA, editA, createB] = [...device.ledger.made.values()];
    expect(editA!.entityId).toBe(createA!.entityId);
    const held = new Map((await device.replica()).map((record) => [record.entityId, record]));
    const [a, b] = [held.get(createA!.entityId)!, held.get(createB!.entityId)!];
    await server.stop();

    const restored = 'lifeline_pwa_restored';
    script('restore', ['--from', dump, '--to', target.url(restored)]);
    expect(await recordCount(target, restored, b.entityId)).toBe(0);
    server = await spawnServer({ DATABASE_URL: target.url(restored), PORT: port });
    servers.push(server);

    // The device's session came back with the restore; one sync re-pulls, offers A's edit and B again, sends them.
    const after = await device.sync('after the restore');
    expect(after).toMatchObject({ ok: true, rejected: 0 });
    expect(await device.pending()).toEqual({ outbox: 0, rejections: [] });

    const fresh = new SimulatedBrowser('fresh', cora, 'cloud', 0, () => server.url, new Rng(12));
    await fresh.open(runId);
    expect(await fresh.sync('first sync')).toMatchObject({ ok: true });
    const got = new Map((await fresh.replica()).map((record) => [record.entityId, record]));
    const shown = (record: SyncRecord | undefined) =>
      record && { fields: record.fields, stamps: record.stamps, deletedAt: record.deletedAt };
    expect(shown(got.get(a.entityId))).toEqual(shown(a));
    expect(shown(got.get(b.entityId))).toEqual(shown(b));
    expect(after.reoffered).toBe(2);
    // And the device now agrees with the server on everything it holds.
    expect(await device.sync('settle')).toMatchObject({ ok: true, reoffered: 0 });
    for (const record of await device.replica()) {
      if (record.entityType === 'update') expect(shown(got.get(record.entityId))).toEqual(shown(record));
    }
  }, 300_000);

  it('when the cloud is restored from a backup, then a hub sends again the changes it had delivered since', async () => {
    const cloudDb = await source.createDatabase('lifeline_hub_cloud');
    const port = String(await freePort());
    let cloud = await spawnServer({ DATABASE_URL: cloudDb, PORT: port });
    servers.push(cloud);
    const seeded = await seedCommunity(cloud.url);
    const registered = await seeded.admin.post('/api/devices', { name: 'Library hub', kind: 'hub' });
    const hub = await spawnServer({
      DATABASE_URL: await target.createDatabase('lifeline_hub'),
      UPSTREAM_URL: cloud.url,
      HUB_API_KEY: registered.body.apiKey,
      UPSTREAM_INTERVAL_MS: '300',
      UPSTREAM_BACKOFF_MAX_MS: '1000',
    });
    servers.push(hub);
    const member = await until('the volunteer signs in at the hub', async () => {
      const client = new ApiClient(hub.url);
      const login = await client.post('/api/auth/login', {
        email: 'victor@eastside.example',
        password: 'password-123',
      });
      return login.status === 200 ? client : undefined;
    });
    const atCloud = (entityId: string) =>
      until(`update ${entityId} at the cloud`, async () => {
        const reply = await seeded.coordinator.client.get(`/api/records/update/${entityId}`);
        return reply.status === 200 ? reply.body.record : undefined;
      });
    const idle = () =>
      until('the hub queue drained', async () => (await member.get('/api/sync/status')).body.upstream?.pendingUp === 0);

    const early = createUpdate('hubMember', { kind: 'need', title: 'Before the backup' });
    expect((await member.post('/api/sync/push', { clientId: 'hm', changes: [early] })).status).toBe(200);
    await atCloud(early.entityId);
    const dump = path.join(workDir, 'hub-cloud.dump');
    script('backup', ['--to', dump], { DATABASE_URL: cloudDb });

    const late = createUpdate('hubMember', { kind: 'offer', title: 'Delivered after the backup' });
    expect((await member.post('/api/sync/push', { clientId: 'hm', changes: [late] })).status).toBe(200);
    await atCloud(late.entityId);
    // Written at the cloud by one of its own members after the backup: the hub only pulled it.
    const cloudOnly = createUpdate('cloudMember', { kind: 'need', title: 'Written at the cloud after the backup' });
    const pushed = await seeded.coordinator.client.post('/api/sync/push', { clientId: 'cm', changes: [cloudOnly] });
    expect(pushed.status).toBe(200);
    const atHub = (entityId: string) =>
      until(`update ${entityId} at the hub`, async () => {
        const reply = await member.get(`/api/records/update/${entityId}`);
        return reply.status === 200 ? (reply.body.record as SyncRecord) : undefined;
      });
    await atHub(cloudOnly.entityId);
    // An account made at the cloud after the backup: the hub holds its user record (password hash included).
    const lena = { email: 'lena@eastside.example', password: 'password-456', displayName: 'Lena', role: 'volunteer' };
    expect((await seeded.admin.post('/api/users', lena)).status).toBe(201);
    const listed = (client: ApiClient) => async () =>
      ((await client.get('/api/users')).body.users as Array<{ email: string }>).some((u) => u.email === lena.email);
    const hubAdmin = new ApiClient(hub.url);
    expect((await hubAdmin.post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).status).toBe(200);
    await until('the late account at the hub', listed(hubAdmin));
    await idle();
    await cloud.stop();

    const restored = 'lifeline_hub_cloud_restored';
    script('restore', ['--from', dump, '--to', target.url(restored)]);
    expect(await recordCount(target, restored, late.entityId)).toBe(0);
    expect(await recordCount(target, restored, cloudOnly.entityId)).toBe(0);
    cloud = await spawnServer({ DATABASE_URL: target.url(restored), PORT: port });
    servers.push(cloud);

    // The hub's next pull is refused (a new server id): it queues its log again and sends it.
    const back = await atCloud(late.entityId);
    expect(back.fields).toMatchObject({ title: 'Delivered after the backup', createdBy: seeded.volunteer.user.id });
    expect(back.stamps.title).toBe(late.stamps.title);
    // What the hub only pulled comes back when its re-pull ends, under its own stamps and its creator.
    const cloudOnlyBack = await atCloud(cloudOnly.entityId);
    expect(cloudOnlyBack.fields).toMatchObject({
      title: 'Written at the cloud after the backup',
      createdBy: seeded.coordinator.user.id,
    });
    expect(cloudOnlyBack.stamps.title).toBe(cloudOnly.stamps.title);
    await idle();
    // And the account made after the backup is back: listed, and its password signs in.
    await until('the late account at the restored cloud', listed(seeded.admin));
    const login = await new ApiClient(cloud.url).post('/api/auth/login', {
      email: lena.email,
      password: lena.password,
    });
    expect(login.status).toBe(200);
    const settled = await atHub(cloudOnly.entityId);
    expect(settled.fields).toEqual((await atCloud(cloudOnly.entityId)).fields);
    expect((await member.get('/api/sync/status')).body.upstream).toMatchObject({ state: 'online', rejectedUp: 0 });
  }, 300_000);

  it('when the hub is killed in the middle of its re-pull from the restored cloud, then after a restart it still offers back what only it holds', async () => {
    const cloudDb = await source.createDatabase('lifeline_crash_cloud');
    const port = String(await freePort());
    let cloud = await spawnServer({ DATABASE_URL: cloudDb, PORT: port });
    servers.push(cloud);
    const seeded = await seedCommunity(cloud.url);
    // Enough records that the re-pull takes many pages: there is a middle to be killed in.
    await preloadRecords(cloudDb, seeded.adminUser.communityId, seeded.volunteer.user.id, PRELOADED);
    const registered = await seeded.admin.post('/api/devices', { name: 'Crash hub', kind: 'hub' });
    const hubDb = await target.createDatabase('lifeline_crash_hub');
    const hubEnv = {
      DATABASE_URL: hubDb,
      UPSTREAM_URL: cloud.url,
      HUB_API_KEY: registered.body.apiKey,
      UPSTREAM_INTERVAL_MS: '300',
      UPSTREAM_BACKOFF_MAX_MS: '1000',
    };
    let hub = await spawnServer(hubEnv);
    servers.push(hub);
    const atHub = async (sql: string, params: unknown[] = []) =>
      (await target.query<{ n: number }>(sql, params, 'lifeline_crash_hub'))[0]?.n ?? 0;
    const hubHolds = (entityId: string) =>
      atHub(`SELECT count(*)::int AS n FROM records WHERE entity_id = $1`, [entityId]);
    await until(
      'the hub caught up',
      async () => (await atHub(`SELECT count(*)::int AS n FROM records`)) >= PRELOADED,
      120_000,
    );

    const dump = path.join(workDir, 'crash-cloud.dump');
    script('backup', ['--to', dump], { DATABASE_URL: cloudDb });
    const lost = createUpdate('cloudMember', { kind: 'need', title: 'Written at the cloud, only the hub keeps it' });
    const pushed = await seeded.coordinator.client.post('/api/sync/push', { clientId: 'cm', changes: [lost] });
    expect(pushed.status).toBe(200);
    await until('the hub pulled it', async () => (await hubHolds(lost.entityId)) === 1);
    await cloud.stop();
    const restored = 'lifeline_crash_cloud_restored';
    script('restore', ['--from', dump, '--to', target.url(restored)]);
    cloud = await spawnServer({ DATABASE_URL: target.url(restored), PORT: port });
    servers.push(cloud);

    // Killed once the re-pull has noted some pages and not reached the end.
    const underWay = async () =>
      (await atHub(`SELECT count(*)::int AS n FROM server_meta WHERE key = 'upstream_repull_since'`)) === 1 &&
      (await atHub(`SELECT count(*)::int AS n FROM upstream_repull_seen`)) > 0;
    await until('the re-pull under way', underWay, 60_000, 10);
    await hub.stop('SIGKILL');
    expect(await underWay()).toBe(true);
    expect(await recordCount(target, restored, lost.entityId)).toBe(0);

    hub = await spawnServer(hubEnv);
    servers.push(hub);
    const back = await until('the update back at the cloud', async () => {
      const reply = await seeded.coordinator.client.get(`/api/records/update/${lost.entityId}`);
      return reply.status === 200 ? (reply.body.record as SyncRecord) : undefined;
    });
    expect(back.fields).toMatchObject({ title: lost.fields.title, createdBy: seeded.coordinator.user.id });
    expect(back.stamps.title).toBe(lost.stamps.title);
    await until('the re-pull ended', async () => !(await underWay()));
  }, 300_000);
});
