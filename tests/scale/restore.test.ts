/**
 * The restore drill, with the shipped scripts on real clusters: write, back
 * up (npm run backup), write more, restore (npm run restore) into a fresh
 * cluster whose transaction counter is far below the stored positions, start
 * the server on it. It must re-base: a new server id, old cursors refused
 * with `cursor_mismatch`, a pull from the start returns the restored state
 * exactly, and nothing written after the restore is skipped or lost.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preloadRecords } from '../../scripts/bench/preload';
import { ApiClient, createUpdate, pullAll, seedCommunity } from '../helpers/client';
import { createCluster, type Cluster } from '../helpers/cluster';
import { spawnServer, type ServerProcess } from '../helpers/process';

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
});
