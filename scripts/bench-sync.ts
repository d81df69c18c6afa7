/**
 * npm run bench:sync — sync throughput against the real server on Postgres.
 *
 * Phases per size (10,000 and 50,000 update-shaped changes): push in batches
 * of 500 over HTTP, pull into a fresh client in pages of 1,000, push 1% edits,
 * delta pull. Prints changes/s and bytes on the wire per change (JSON bodies,
 * requests + responses; headers excluded), then a raw-Postgres baseline for
 * the same rows so the sync overhead shows as a ratio. A last phase pushes
 * another batch set from several clients at once (a cloud serves many hubs
 * and browsers), timed by the wall clock. Prints, never asserts.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ApiClient, createUpdate, edit, seedCommunity } from '../tests/helpers/client';
import { createTestDatabase } from '../tests/helpers/database';
import { spawnServer } from '../tests/helpers/process';

const SIZES = (process.env.BENCH_SIZES ?? '10000,50000').split(',').map(Number);
const PUSH_BATCH = 500;
const PULL_PAGE = 1000;
const CONCURRENT_CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);

/** A pushed change's result or a pulled record: only counted and checked loosely here. */
type Loose = Record<string, unknown>;

interface Phase {
  name: string;
  items: number;
  ms: number;
  bytes: number;
}

async function timed(client: ApiClient, path: string, body: unknown) {
  const text = JSON.stringify(body);
  const started = performance.now();
  const response = await fetch(client.baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: client.sessionCookie! },
    body: text,
  });
  const reply = await response.text();
  if (!response.ok) throw new Error(`${path} ${response.status}: ${reply.slice(0, 200)}`);
  return { ms: performance.now() - started, bytes: text.length + reply.length, body: JSON.parse(reply) };
}

function updateFields(i: number) {
  return {
    kind: (['need', 'offer', 'incident', 'status'] as const)[i % 4],
    title: `Update ${i}: water and blankets needed at the community hall`,
    body: 'Volunteers report 20 people sheltering; bring drinking water, blankets and phone chargers.',
    priority: 'normal',
    status: 'open',
    tags: ['water', 'shelter'],
    location: { label: 'Community hall', lat: 51.5, lon: -0.12 },
  };
}

/** Push in batches of 500; with `clients` > 1, that many clients push at once (wall time is measured). */
async function pushAll(client: ApiClient, changes: unknown[], clients = 1): Promise<Phase & { results: Loose[] }> {
  const phase = { name: '', items: changes.length, ms: 0, bytes: 0, results: [] as Loose[] };
  const batches: unknown[][] = [];
  for (let i = 0; i < changes.length; i += PUSH_BATCH) batches.push(changes.slice(i, i + PUSH_BATCH));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      for (let batch = next++; batch < batches.length; batch = next++) {
        const reply = await timed(client, '/api/sync/push', { clientId: `bench-${worker}`, changes: batches[batch] });
        phase.bytes += reply.bytes;
        phase.results.push(...reply.body.results);
        if (clients === 1) phase.ms += reply.ms;
      }
    }),
  );
  if (clients > 1) phase.ms = performance.now() - started;
  return phase;
}

async function pullAll(client: ApiClient, cursor: string | null) {
  const phase: Phase & { cursor: string | null; records: Loose[] } = {
    name: '',
    items: 0,
    ms: 0,
    bytes: 0,
    cursor,
    records: [],
  };
  for (;;) {
    const reply = await timed(client, '/api/sync/pull', {
      clientId: 'bench-puller',
      cursor: phase.cursor,
      limit: PULL_PAGE,
    });
    phase.ms += reply.ms;
    phase.bytes += reply.bytes;
    phase.items += reply.body.records.length;
    phase.records.push(...reply.body.records);
    phase.cursor = reply.body.cursor;
    if (!reply.body.hasMore) return phase;
  }
}

function report(phase: Phase) {
  const perSecond = phase.items / (phase.ms / 1000);
  console.log(
    `  ${phase.name.padEnd(28)} ${String(phase.items).padStart(7)} items  ${phase.ms.toFixed(0).padStart(7)} ms  ` +
      `${perSecond.toFixed(0).padStart(8)} /s  ${(phase.bytes / Math.max(phase.items, 1)).toFixed(0).padStart(5)} B/change`,
  );
  return perSecond;
}

async function rawBaseline(url: string, size: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `CREATE TABLE bench_raw (id uuid PRIMARY KEY, fields jsonb NOT NULL, stamps jsonb NOT NULL, version int NOT NULL)`,
  );
  const rows = Array.from({ length: size }, (_, i) => ({
    id: randomUUID(),
    fields: updateFields(i),
    stamps: { title: '001795740430673:00000:bench' },
    version: 1,
  }));
  let started = performance.now();
  for (let i = 0; i < rows.length; i += PUSH_BATCH) {
    await client.query(
      `INSERT INTO bench_raw (id, fields, stamps, version)
       SELECT r.id, r.fields, r.stamps, r.version FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, fields jsonb, stamps jsonb, version int)
       ON CONFLICT (id) DO UPDATE SET fields = EXCLUDED.fields, stamps = EXCLUDED.stamps, version = bench_raw.version + 1`,
      [JSON.stringify(rows.slice(i, i + PUSH_BATCH))],
    );
  }
  const insertPerSecond = size / ((performance.now() - started) / 1000);
  started = performance.now();
  let last = '00000000-0000-0000-0000-000000000000';
  let read = 0;
  for (;;) {
    const page = await client.query(
      `SELECT id::text, fields, stamps, version FROM bench_raw WHERE id > $1 ORDER BY id LIMIT ${PULL_PAGE}`,
      [last],
    );
    read += page.rows.length;
    if (page.rows.length < PULL_PAGE) break;
    last = page.rows[page.rows.length - 1].id;
  }
  const readPerSecond = read / ((performance.now() - started) / 1000);
  await client.query('DROP TABLE bench_raw');
  await client.end();
  return { insertPerSecond, readPerSecond };
}

async function main() {
  console.log(`Lifeline sync benchmark — Postgres, push batches of ${PUSH_BATCH}, pull pages of ${PULL_PAGE}`);
  for (const size of SIZES) {
    const database = await createTestDatabase('lifeline_bench');
    const server = await spawnServer({ DATABASE_URL: database.url, LOG_LEVEL: 'error' });
    try {
      const seeded = await seedCommunity(server.url);
      const writer = seeded.volunteer.client;
      console.log(`\n${size.toLocaleString('en')} changes`);
      const creates = Array.from({ length: size }, (_, i) => createUpdate('bench', updateFields(i)));
      const pushed = await pushAll(writer, creates);
      pushed.name = 'push (create)';
      const pushRate = report(pushed);
      const rejected = pushed.results.filter((r) => r.status !== 'applied').length;
      if (rejected > 0) console.log(`  !! ${rejected} changes not applied`);

      const reader = new ApiClient(server.url);
      await reader.post('/api/auth/login', { email: 'cora@eastside.example', password: 'password-123' });
      const full = await pullAll(reader, null);
      full.name = 'pull (fresh client)';
      const pullRate = report(full);

      const editCount = Math.max(1, Math.round(size * 0.01));
      const edits = creates
        .slice(0, editCount)
        .map((c, i) =>
          edit(
            'bench2',
            c.entityId,
            { status: 'in_progress', title: `Edited ${i}` },
            { status: c.stamps.status, title: c.stamps.title },
          ),
        );
      const edited = await pushAll(writer, edits);
      edited.name = 'push (1% edits)';
      report(edited);
      const delta = await pullAll(reader, full.cursor);
      delta.name = 'delta pull';
      report(delta);

      const more = Array.from({ length: size }, (_, i) => createUpdate('bench3', updateFields(i)));
      const concurrent = await pushAll(writer, more, CONCURRENT_CLIENTS);
      concurrent.name = `push (${CONCURRENT_CLIENTS} clients at once)`;
      const concurrentRate = report(concurrent);

      const raw = await rawBaseline(database.url, size);
      console.log(
        `  raw Postgres INSERT…ON CONFLICT ${raw.insertPerSecond.toFixed(0)} rows/s, SELECT pages ${raw.readPerSecond.toFixed(0)} rows/s`,
      );
      console.log(
        `  sync/raw ratio: push ${(pushRate / raw.insertPerSecond).toFixed(2)} (${CONCURRENT_CLIENTS} clients ` +
          `${(concurrentRate / raw.insertPerSecond).toFixed(2)}), pull ${(pullRate / raw.readPerSecond).toFixed(2)}` +
          `   (targets: push ≥ 20,000/s, pull ≥ 30,000/s)`,
      );
    } finally {
      await server.stop();
      await database.drop();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
