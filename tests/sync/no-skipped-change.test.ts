/**
 * "No skipped change": many writers commit out of order through two server
 * processes on one database while a puller pages. With a plain
 * `seq > cursor` the puller would jump over a slow transaction's rows; here
 * it must end up with every record.
 *
 * The load runs on a cluster of its own whose transaction counter is moved to
 * just below 100,000 first, so every run crosses a power of ten mid-load
 * (99,999 → 100,000): a pull page sorted by the text form of the id ('100005'
 * < '99990') cuts at the wrong rows, and that skip must show up here.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { createCluster, nextPowerOfTen, type Cluster } from '../helpers/cluster';
import { spawnServer, type ServerProcess } from '../helpers/process';

let cluster: Cluster;
let databaseUrl: string;
let servers: ServerProcess[] = [];
/** The power of ten the load must cross. */
let boundary: bigint;

beforeAll(async () => {
  cluster = await createCluster();
  databaseUrl = await cluster.createDatabase('lifeline_noskip');
  // Start both at once: the migration lock must make that safe.
  servers = await Promise.all([spawnServer({ DATABASE_URL: databaseUrl }), spawnServer({ DATABASE_URL: databaseUrl })]);
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await cluster?.destroy();
});

it('when many writers commit out of order across two instances, then a paging puller misses nothing', async () => {
  const [first, second] = servers as [ServerProcess, ServerProcess];
  const seeded = await seedCommunity(first.url);
  // The same session works on both instances: sessions live in the database.
  const onSecond = new ApiClient(second.url);
  const cookie = seeded.volunteer.client.sessionCookie!;
  const writers = [seeded.volunteer.client, onSecond];

  const status = await Promise.all(servers.map((s) => new ApiClient(s.url).get('/api/sync/status', { cookie })));
  expect(status[0]!.body.serverId).toBe(status[1]!.body.serverId);

  // Just below a power of ten: the stalled writer below takes an id under it,
  // nearly all of the load's transactions land above it.
  boundary = nextPowerOfTen((await cluster.currentTxId()) * 10n);
  await cluster.burnTransactionIdsTo(boundary - 15n);

  // A writer that stalls mid-transaction (a paused instance, a slow disk): its
  // row takes its place in the sequence now but commits only after everyone else.
  const slow = new pg.Client({ connectionString: databaseUrl });
  await slow.connect();
  const slowId = randomUUID();
  await slow.query('BEGIN');
  await slow.query(
    `INSERT INTO records (community_id, entity_type, entity_id, fields, stamps, meta, version)
     VALUES ($1, 'update', $2, $3, $4, '{}', 1)`,
    [
      seeded.adminUser.communityId,
      slowId,
      JSON.stringify({ kind: 'need', title: 'slow writer' }),
      JSON.stringify({ kind: '000000000000001:00000:slow', title: '000000000000001:00000:slow' }),
    ],
  );

  const created = new Set<string>([slowId]);
  let writing = true;
  const writerLoop = async (writerIndex: number) => {
    for (let round = 0; round < 15; round += 1) {
      // Mixed batch sizes make transactions of different lengths commit out of order.
      const size = [1, 50, 5, 120, 2][(round + writerIndex) % 5]!;
      const changes = Array.from({ length: size }, () => createUpdate(`w${writerIndex}`));
      const client = writers[writerIndex % 2]!;
      const reply = await client.post('/api/sync/push', { clientId: `writer-${writerIndex}`, changes }, { cookie });
      expect(reply.status).toBe(200);
      for (const change of changes) created.add(change.entityId);
    }
  };

  const seen = new Set<string>();
  let cursor: string | null = null;
  let pages = 0;
  const pullOnce = async (client: ApiClient) => {
    const reply = await client.post('/api/sync/pull', { clientId: 'puller', cursor, limit: 37 }, { cookie });
    expect(reply.status).toBe(200);
    for (const record of reply.body.records) if (record.entityType === 'update') seen.add(record.entityId);
    cursor = reply.body.cursor;
    pages += 1;
    return reply.body.hasMore as boolean;
  };
  // The puller alternates instances too: a cursor from one is valid on the other.
  const pullerLoop = async () => {
    while (writing) await pullOnce(writers[pages % 2]!);
  };

  const puller = pullerLoop();
  await Promise.all(Array.from({ length: 6 }, (_, i) => writerLoop(i)));
  await slow.query('COMMIT');
  await slow.end();
  writing = false;
  await puller;
  while (await pullOnce(writers[pages % 2]!));

  expect(await cluster.currentTxId()).toBeGreaterThan(boundary + 50n);
  expect(created.size).toBe(6 * (1 + 50 + 5 + 120 + 2) * 3 + 1);
  const missing = [...created].filter((id) => !seen.has(id));
  expect(missing).toEqual([]);
  expect(pages).toBeGreaterThan(10);

  // A new device pulling everything from scratch, in small pages, sees it all too.
  const fresh = new Set<string>();
  let freshCursor: string | null = null;
  for (let more = true; more;) {
    const reply: {
      body: { records: Array<{ entityType: string; entityId: string }>; cursor: string; hasMore: boolean };
    } = await writers[0]!.post('/api/sync/pull', { clientId: 'fresh', cursor: freshCursor, limit: 100 }, { cookie });
    for (const record of reply.body.records) if (record.entityType === 'update') fresh.add(record.entityId);
    freshCursor = reply.body.cursor;
    more = reply.body.hasMore;
  }
  expect([...created].filter((id) => !fresh.has(id))).toEqual([]);
}, 120_000);
