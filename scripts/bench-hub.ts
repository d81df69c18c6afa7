/**
 * npm run bench:hub — hub catch-up after an outage. The hub (its own
 * database) reaches the cloud through a fault proxy; the proxy refuses while
 * 20,000 changes are made at the hub and 20,000 at the cloud. Then the link
 * returns, and the clock runs until both hold the same records (same ids,
 * same stamps) and the hub's queue is empty. Prints, never asserts.
 *
 *   BENCH_CHANGES=20000 (each side)  UPSTREAM_BACKOFF_MAX_MS for the hub (default here 1000)
 */
import pg from 'pg';
import { createUpdate, seedCommunity } from '../tests/helpers/client';
import { createTestDatabase } from '../tests/helpers/database';
import { FaultProxy } from '../tests/helpers/fault-proxy';
import { spawnServer } from '../tests/helpers/process';
import { useServerBundle } from './bench/server-bundle';
import { until } from '../tests/helpers/wait';
import { closeWire, signIn, wirePost } from './bench/wire';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 20_000);
const BACKOFF_MAX_MS = process.env.UPSTREAM_BACKOFF_MAX_MS ?? '1000';

async function pushMany(url: string, cookie: string, node: string, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i += 500) {
    const changes = Array.from({ length: Math.min(500, count - i) }, (_, k) =>
      createUpdate(node, { kind: 'need', title: `${node} report ${i + k}`, body: 'Road closed by flooding.' }),
    );
    const reply = await wirePost(url, '/api/sync/push', { clientId: node, changes }, { cookie });
    if (reply.status !== 200) throw new Error(`push ${reply.status}`);
  }
  return performance.now() - started;
}

/** Count and fingerprint of every update: equal on both sides means converged. */
async function fingerprint(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(coalesce(string_agg(r.entity_id::text || r.stamps::text, ',' ORDER BY r.entity_id), '')) AS digest
         FROM records r WHERE r.entity_type = 'update'`,
    );
    return `${rows[0]!.n}:${rows[0]!.digest}`;
  } finally {
    await client.end();
  }
}

async function main() {
  await useServerBundle();
  const [cloudDb, hubDb] = await Promise.all([
    createTestDatabase('lifeline_cloud'),
    createTestDatabase('lifeline_hub'),
  ]);
  const cloud = await spawnServer({ DATABASE_URL: cloudDb.url, LOG_LEVEL: 'error' });
  const link = await FaultProxy.start(Number(new URL(cloud.url).port));
  let hub: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    const seeded = await seedCommunity(cloud.url);
    const device = await seeded.admin.post('/api/devices', { name: 'Bench hub', kind: 'hub' });
    hub = await spawnServer({
      DATABASE_URL: hubDb.url,
      UPSTREAM_URL: link.url,
      HUB_API_KEY: device.body.apiKey,
      UPSTREAM_BACKOFF_MAX_MS: BACKOFF_MAX_MS,
      LOG_LEVEL: 'error',
    });
    const status = async () =>
      (await (
        await fetch(`${hub!.url}/api/sync/status`, { headers: { authorization: `Bearer ${device.body.apiKey}` } })
      ).json()) as {
        upstream: { state: string; pendingUp: number };
      };
    const atHub = await until('the volunteer can sign in at the hub', () =>
      signIn(hub!.url, 'victor@eastside.example', 'password-123').catch(() => undefined),
    );
    const atCloud = await signIn(cloud.url, 'cora@eastside.example', 'password-123');

    console.log(`Lifeline hub catch-up — ${CHANGES.toLocaleString('en')} changes on each side during an outage`);
    await link.setMode({ kind: 'refuse' });
    const [hubMs, cloudMs] = await Promise.all([
      pushMany(hub.url, atHub, 'hubside', CHANGES),
      pushMany(cloud.url, atCloud, 'cloudside', CHANGES),
    ]);
    console.log(
      `  written during the outage: hub ${(hubMs / 1000).toFixed(1)} s, cloud ${(cloudMs / 1000).toFixed(1)} s`,
    );
    await until('the hub notices the outage', async () => (await status()).upstream.state === 'offline', 60_000);

    const back = performance.now();
    await link.setMode({ kind: 'pass' });
    let drainedAt = 0;
    await until(
      'hub and cloud hold the same records',
      async () => {
        const up = await status();
        if (!drainedAt && up.upstream.pendingUp === 0) drainedAt = performance.now();
        if (up.upstream.pendingUp > 0) return false;
        const [c, h] = await Promise.all([fingerprint(cloudDb.url), fingerprint(hubDb.url)]);
        return c === h && c.startsWith(`${2 * CHANGES}:`);
      },
      300_000,
      100,
    );
    const total = performance.now() - back;
    console.log(`  hub queue empty after       ${((drainedAt - back) / 1000).toFixed(1)} s`);
    console.log(
      `  both equal after            ${(total / 1000).toFixed(1)} s   (target < 10 s; hub backoff cap ${BACKOFF_MAX_MS} ms)`,
    );
  } finally {
    await hub?.stop();
    await link.stop();
    await cloud.stop();
    await Promise.all([cloudDb.drop(), hubDb.drop()]);
    closeWire();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
