/**
 * A real streaming replica: a primary cluster this test starts, a hot standby
 * made from it with pg_basebackup -R, and one server with DATABASE_URL on the
 * primary and DATABASE_READ_URLS on the standby. Pulls are served by the
 * standby while writers commit on the primary, and one puller's pages come
 * from the primary and the standby in turn (it writes now and then, and a
 * writer reads from the primary for a while): nothing is skipped, nothing is
 * seen twice. Then the standby is stopped mid-load: every request still
 * succeeds, through the primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { createCluster, createStandby, type Cluster } from '../helpers/cluster';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

let primary: Cluster;
let standby: Cluster;
let server: ServerProcess;
const lagSamples: number[] = [];
let admin: ApiClient;

interface ReplicaReport {
  name: string;
  usable: boolean;
  lagSeconds: number | null;
}

async function replicas(): Promise<ReplicaReport[]> {
  const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { replicas?: ReplicaReport[] };
  return ready.replicas ?? [];
}

async function readsTo(target: 'replica' | 'primary' | 'fallback'): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const match = new RegExp(`^lifeline_db_reads_total\\{target="${target}"\\} (\\d+)`, 'm').exec(text);
  return Number(match?.[1] ?? 0);
}

beforeAll(async () => {
  primary = await createCluster();
  await primary.createDatabase('lifeline');
  standby = await createStandby(primary);
  server = await spawnServer({
    DATABASE_URL: primary.url('lifeline'),
    DATABASE_READ_URLS: standby.url('lifeline'),
    DATABASE_READ_MAX_LAG_MS: '5000',
  });
  await until('the standby to serve reads', async () => (await replicas())[0]?.usable);
}, 120_000);

afterAll(async () => {
  if (server?.child.exitCode !== null) console.log(`server exited:\n${server?.output().slice(-4000)}`);
  await server?.stop('SIGKILL');
  await standby?.destroy();
  await primary?.destroy();
});

/** Sign in a member (created by the admin the first time). */
async function member(admin: ApiClient, name: string): Promise<ApiClient> {
  const email = `${name}@eastside.example`;
  const created = await admin.post('/api/users', {
    email,
    password: 'password-123',
    displayName: name,
    role: 'volunteer',
  });
  expect([201, 409]).toContain(created.status);
  const client = new ApiClient(server.url);
  const login = await client.post('/api/auth/login', { email, password: 'password-123' });
  expect(login.status).toBe(200);
  return client;
}

interface Puller {
  client: ApiClient;
  cursor: string | null;
  seen: string[];
  failures: string[];
}

/** One pull page: within it no record twice; remembers what it saw. */
async function pullOnce(puller: Puller, limit: number): Promise<boolean> {
  const reply = await puller.client.post('/api/sync/pull', { clientId: 'replica-test', cursor: puller.cursor, limit });
  if (reply.status !== 200) {
    puller.failures.push(`pull ${reply.status} ${JSON.stringify(reply.body)}`);
    return true;
  }
  const ids = (reply.body.records as Array<{ entityType: string; entityId: string }>)
    .filter((record) => record.entityType === 'update')
    .map((record) => record.entityId);
  expect(new Set(ids).size).toBe(ids.length);
  puller.seen.push(...ids);
  puller.cursor = reply.body.cursor as string;
  return reply.body.hasMore as boolean;
}

describe('read replicas', () => {
  it('when pulls are served by a streaming replica, and by it and the primary in turn, then nothing is skipped or seen twice', async () => {
    const seeded = await seedCommunity(server.url);
    admin = seeded.admin;
    const writers = [seeded.volunteer.client, seeded.coordinator.client];
    const acknowledged = new Set<string>();
    const writeFailures: string[] = [];
    const readOnly: Puller = { client: await member(admin, 'rita'), cursor: null, seen: [], failures: [] };
    // This one writes every few pulls, so its next reads go to the primary (read-your-writes), then back.
    const mixed: Puller = { client: await member(admin, 'milo'), cursor: null, seen: [], failures: [] };
    const [replicaReadsBefore, primaryReadsBefore] = [await readsTo('replica'), await readsTo('primary')];

    let writing = true;
    const writing$ = writers.map(async (client, index) => {
      while (writing) {
        const changes = Array.from({ length: 20 }, () =>
          createUpdate(`w${index}`, { kind: 'need', title: 'Sandbags' }),
        );
        const reply = await client.post('/api/sync/push', { clientId: `writer-${index}`, changes });
        if (reply.status !== 200) writeFailures.push(`push ${reply.status}`);
        else for (const change of changes) acknowledged.add(change.entityId);
      }
    });
    const sampling = (async () => {
      while (writing) {
        const lag = (await replicas())[0]?.lagSeconds;
        if (typeof lag === 'number') lagSamples.push(lag);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const started = Date.now();
    let round = 0;
    while (Date.now() - started < 6000) {
      await pullOnce(readOnly, 37);
      await pullOnce(mixed, 41);
      round += 1;
      if (round % 4 === 0) {
        const change = createUpdate('mixed', { kind: 'offer', title: 'Tea' });
        const reply = await mixed.client.post('/api/sync/push', { clientId: 'mixed', changes: [change] });
        if (reply.status === 200) acknowledged.add(change.entityId);
      }
    }
    writing = false;
    await Promise.all([...writing$, sampling]);

    // Catch up: each puller must end holding every acknowledged record, each exactly once.
    for (const puller of [readOnly, mixed]) {
      await until(
        'the puller to hold every acknowledged record',
        async () => {
          while (await pullOnce(puller, 500));
          return [...acknowledged].every((id) => puller.seen.includes(id));
        },
        30_000,
      );
      expect(puller.failures).toEqual([]);
      expect(new Set(puller.seen).size).toBe(puller.seen.length);
    }
    expect(writeFailures).toEqual([]);
    const replicaReads = (await readsTo('replica')) - replicaReadsBefore;
    const primaryReads = (await readsTo('primary')) - primaryReadsBefore;
    console.log(
      `read replica: ${acknowledged.size} writes; ${replicaReads} reads from the standby, ${primaryReads} from the primary; ` +
        `lag under load max ${Math.max(...lagSamples).toFixed(3)} s, median ${lagSamples.sort((a, b) => a - b)[Math.floor(lagSamples.length / 2)]?.toFixed(3)} s`,
    );
    expect(replicaReads).toBeGreaterThan(10);
    expect(primaryReads).toBeGreaterThan(5);
  }, 120_000);

  it('when the replica stops mid-load, then every request carries on through the primary', async () => {
    const puller: Puller = { client: await member(admin, 'rita'), cursor: null, seen: [], failures: [] };
    while (await pullOnce(puller, 1000));
    const writer = await member(admin, 'walt');
    const acknowledged = new Set<string>();
    const failures: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const changes = Array.from({ length: 10 }, () => createUpdate('late', { kind: 'need', title: 'Fuel' }));
        const reply = await writer.post('/api/sync/push', { clientId: 'late-writer', changes });
        if (reply.status === 200) for (const change of changes) acknowledged.add(change.entityId);
        else failures.push(`push ${reply.status}`);
        await pullOnce(puller, 100);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await standby.stop('immediate');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    running = false;
    await load;
    while (await pullOnce(puller, 1000));
    expect([...failures, ...puller.failures]).toEqual([]);
    expect([...acknowledged].filter((id) => !puller.seen.includes(id))).toEqual([]);
    expect((await replicas())[0]).toMatchObject({ usable: false });
    expect(await readsTo('primary')).toBeGreaterThan(0);
  }, 60_000);
});
