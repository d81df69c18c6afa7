/**
 * npm run bench:sync — sync throughput and bytes on the wire, against the
 * real server on Postgres, with 0, 100,000 and 500,000 records already
 * stored and no ANALYZE (statistics as a server sees them before autovacuum
 * catches up).
 *
 * Per stored size: push BENCH_CHANGES creates in batches of 500 (one client,
 * then several at once), pull them into a fresh client in pages of 1,000,
 * push 1% edits, pull the delta, then raw-Postgres baselines in the same
 * database: the issue's (the pushed creates' own rows in one narrow table), the rows
 * Lifeline itself stored (a record and a change-log row per change) written
 * again, and the pulled records read again in pull order. Each server is
 * warmed up first (1,000 creates pushed and pulled, not counted), as a server
 * in service is; pulls and raw SELECTs are read PULL_PASSES (3) times and the
 * median pass is reported (a pull's first pass is printed beside it). Bytes
 * are counted as they cross the wire: requests gzip-compressed as the PWA
 * sends them, answers compressed for `Accept-Encoding: br, gzip`. Prints,
 * never asserts.
 *
 * New records and changes get time-ordered ids (UUID v7), as the PWA and the
 * server make them; BENCH_IDS=random sends random (v4) ids instead, as an
 * older client would: into a big table those cost every index a random page.
 *
 *   BENCH_PRELOAD=0,100000,500000  BENCH_CHANGES=10000  BENCH_CLIENTS=4  BENCH_IDS=v7|random
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createUpdate, edit, seedCommunity } from '../tests/helpers/client';
import { createTestDatabase } from '../tests/helpers/database';
import { spawnServer } from '../tests/helpers/process';
import { useServerBundle } from './bench/server-bundle';
import { preloadRecords } from './bench/preload';
import { closeWire, signIn, wirePost } from './bench/wire';

const PRELOADS = (process.env.BENCH_PRELOAD ?? '0,100000,500000').split(',').map(Number);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 10_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const RANDOM_IDS = process.env.BENCH_IDS === 'random';
const PUSH_BATCH = 500;
const PULL_PAGE = 1000;
const WARM_UP_CHANGES = 1000;
const PULL_PASSES = 3;

interface Phase {
  name: string;
  items: number;
  ms: number;
  up: number;
  down: number;
}

type Change = ReturnType<typeof createUpdate> | ReturnType<typeof edit>;

/** A create as the PWA sends it, or with random ids under BENCH_IDS=random. */
function create(nodeId: string, fields: Record<string, unknown>): Change {
  if (!RANDOM_IDS) return createUpdate(nodeId, fields);
  return { ...createUpdate(nodeId, fields, randomUUID()), changeId: randomUUID() };
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

/** Push in batches of 500; with `clients` > 1 that many push at once and the wall clock is what counts. */
async function push(url: string, cookie: string, changes: Change[], clients = 1): Promise<Phase> {
  const phase: Phase = { name: '', items: changes.length, ms: 0, up: 0, down: 0 };
  const batches: Change[][] = [];
  for (let i = 0; i < changes.length; i += PUSH_BATCH) batches.push(changes.slice(i, i + PUSH_BATCH));
  let next = 0;
  let notApplied = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, worker) => {
      for (let index = next++; index < batches.length; index = next++) {
        const reply = await wirePost<{ results: Array<{ status: string }> }>(
          url,
          '/api/sync/push',
          { clientId: `bench-${worker}`, changes: batches[index] },
          { cookie },
        );
        if (reply.status !== 200) throw new Error(`push ${reply.status}: ${JSON.stringify(reply.body)}`);
        notApplied += reply.body.results.filter((r) => r.status !== 'applied').length;
        phase.up += reply.up;
        phase.down += reply.down;
        if (clients === 1) phase.ms += reply.ms;
      }
    }),
  );
  if (clients > 1) phase.ms = performance.now() - started;
  if (notApplied > 0) console.log(`  !! ${notApplied} changes not applied`);
  return phase;
}

async function pull(url: string, cookie: string, cursor: string | null): Promise<Phase & { cursor: string | null }> {
  const phase = { name: '', items: 0, ms: 0, up: 0, down: 0, cursor };
  for (;;) {
    const reply = await wirePost<{ records: unknown[]; cursor: string; hasMore: boolean }>(
      url,
      '/api/sync/pull',
      { clientId: 'bench-puller', cursor: phase.cursor, limit: PULL_PAGE },
      { cookie },
    );
    if (reply.status !== 200) throw new Error(`pull ${reply.status}`);
    phase.ms += reply.ms;
    phase.up += reply.up;
    phase.down += reply.down;
    phase.items += reply.body.records.length;
    phase.cursor = reply.body.cursor;
    if (!reply.body.hasMore) return phase;
  }
}

/** The middle of an odd number of passes (by rate), and the first, to show what a cold read costs. */
function medianPass<T extends { items: number; ms: number }>(passes: T[]): { median: T; first: T } {
  const sorted = [...passes].sort((a, b) => b.items / b.ms - a.items / a.ms);
  return { median: sorted[Math.floor(sorted.length / 2)]!, first: passes[0]! };
}

/** Rows per second of the median of PULL_PASSES reads, each returning how many rows it read. */
async function medianReadRate(read: () => Promise<number>): Promise<number> {
  const passes: Array<{ items: number; ms: number }> = [];
  for (let pass = 0; pass < PULL_PASSES; pass += 1) {
    const started = performance.now();
    const items = await read();
    passes.push({ items, ms: performance.now() - started });
  }
  const { median } = medianPass(passes);
  return median.items / (median.ms / 1000);
}

function line(phase: Phase): number {
  const rate = phase.items / (phase.ms / 1000);
  const per = (bytes: number) => (bytes / Math.max(phase.items, 1)).toFixed(0).padStart(5);
  console.log(
    `  ${phase.name.padEnd(30)} ${String(phase.items).padStart(7)}  ${phase.ms.toFixed(0).padStart(7)} ms ` +
      `${rate.toFixed(0).padStart(8)} /s   up ${per(phase.up)} B   down ${per(phase.down)} B`,
  );
  return rate;
}

/**
 * The baseline: the rows just pushed (the same ids, fields and a stamp
 * per field, as the creates carried them) straight into one narrow table in
 * this database, then read back in pages: what the sync work is measured against.
 */
async function rawBaseline(url: string, creates: Change[]) {
  const size = creates.length;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `CREATE TABLE bench_raw (id uuid PRIMARY KEY, fields jsonb NOT NULL, stamps jsonb NOT NULL, version int NOT NULL)`,
  );
  const rows = creates.map((change) => ({
    id: change.entityId,
    fields: change.fields,
    stamps: change.stamps,
    version: 1,
  }));
  const started = performance.now();
  for (let i = 0; i < rows.length; i += PUSH_BATCH) {
    await client.query(
      `INSERT INTO bench_raw (id, fields, stamps, version)
       SELECT r.id, r.fields, r.stamps, r.version
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, fields jsonb, stamps jsonb, version int)
       ON CONFLICT (id) DO UPDATE SET fields = EXCLUDED.fields, stamps = EXCLUDED.stamps, version = bench_raw.version + 1`,
      [JSON.stringify(rows.slice(i, i + PUSH_BATCH))],
    );
  }
  const insert = size / ((performance.now() - started) / 1000);
  const select = await medianReadRate(async () => {
    let last = '00000000-0000-0000-0000-000000000000';
    let read = 0;
    for (;;) {
      const page = await client.query<{ id: string }>(
        `SELECT b.id::text AS id, b.fields, b.stamps, b.version FROM bench_raw b WHERE b.id > $1 ORDER BY b.id LIMIT ${PULL_PAGE}`,
        [last],
      );
      read += page.rows.length;
      if (page.rows.length < PULL_PAGE) return read;
      last = page.rows[page.rows.length - 1]!.id;
    }
  });
  await client.query('DROP TABLE bench_raw');
  await client.end();
  return { insert, select };
}

/**
 * The rows Lifeline itself stored for the last `size` creates (a record and a
 * change-log row each, with every column and index of those tables), written
 * again straight into copies of both tables in batches of 500: the floor that
 * any sync server keeping this data pays, whatever its code does.
 */
async function storedRowsBaseline(url: string, size: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE bench_records (LIKE records INCLUDING ALL)`);
    await client.query(`CREATE TABLE bench_changes (LIKE changes INCLUDING ALL)`);
    const records = await client.query<{ row: unknown }>(
      `SELECT to_jsonb(r) AS row FROM records r ORDER BY r.tx_id DESC, r.seq DESC LIMIT $1`,
      [size],
    );
    const changes = await client.query<{ row: unknown }>(
      `SELECT to_jsonb(c) AS row FROM changes c ORDER BY c.received_at DESC LIMIT $1`,
      [size],
    );
    const started = performance.now();
    for (let i = 0; i < size; i += PUSH_BATCH) {
      await client.query('BEGIN');
      await client.query(`INSERT INTO bench_records SELECT * FROM jsonb_populate_recordset(NULL::bench_records, $1)`, [
        JSON.stringify(records.rows.slice(i, i + PUSH_BATCH).map((r) => r.row)),
      ]);
      await client.query(`INSERT INTO bench_changes SELECT * FROM jsonb_populate_recordset(NULL::bench_changes, $1)`, [
        JSON.stringify(changes.rows.slice(i, i + PUSH_BATCH).map((r) => r.row)),
      ]);
      await client.query('COMMIT');
    }
    const rate = size / ((performance.now() - started) / 1000);
    await client.query('DROP TABLE bench_records, bench_changes');
    return rate;
  } finally {
    await client.end();
  }
}

interface PullStart {
  txId: string;
  seq: number;
}

/** Where the records written from now on begin, in pull order. */
async function pullEnd(url: string): Promise<PullStart> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tx_id: string; seq: string }>(
      `SELECT r.tx_id::text AS tx_id, r.seq::text AS seq FROM records r ORDER BY r.tx_id DESC, r.seq DESC LIMIT 1`,
    );
    return { txId: rows[0]?.tx_id ?? '0', seq: Number(rows[0]?.seq ?? 0) };
  } finally {
    await client.end();
  }
}

/**
 * The same records a pull reads, straight from the records table in pull
 * order and pages of 1,000 (the same index walk, the same visibility rule),
 * parsed by the driver: what reading Lifeline's own rows costs with no HTTP,
 * no session, no JSON building and no compression.
 */
async function storedRowsSelect(url: string, communityId: string, start: PullStart, size: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await medianReadRate(async () => {
      let after = start;
      let read = 0;
      while (read < size) {
        await client.query('BEGIN; SET LOCAL enable_sort = off');
        const page = await client.query<{ tx_id: string; seq: string }>(
          `SELECT r.entity_type, r.entity_id::text AS entity_id, r.fields, r.stamps, r.version, r.deleted_at,
                  r.updated_at, r.tx_id::text AS tx_id, r.seq::text AS seq
             FROM records r
            WHERE r.community_id = $1 AND (r.tx_id, r.seq) > ($2::xid8, $3::bigint)
              AND r.tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY r.tx_id, r.seq LIMIT ${PULL_PAGE}`,
          [communityId, after.txId, after.seq],
        );
        await client.query('COMMIT');
        read += page.rows.length;
        const last = page.rows[page.rows.length - 1];
        if (!last) break;
        after = { txId: last.tx_id, seq: Number(last.seq) };
      }
      return read;
    });
  } finally {
    await client.end();
  }
}

async function main() {
  await useServerBundle();
  console.log(
    `Lifeline sync benchmark — Postgres, ${CHANGES.toLocaleString('en')} changes, push batches of ${PUSH_BATCH}, ` +
      `pull pages of ${PULL_PAGE}, ${RANDOM_IDS ? 'random (v4)' : 'time-ordered (v7)'} ids; bytes per change on the wire (gzip up, br down)`,
  );
  const summary: string[] = [];
  for (const preload of PRELOADS) {
    const database = await createTestDatabase('lifeline_bench');
    const env = { DATABASE_URL: database.url, LOG_LEVEL: 'error' };
    let server = await spawnServer(env);
    try {
      const seeded = await seedCommunity(server.url);
      if (preload > 0) {
        // Preloaded with the server stopped, so its assistant indexer does not start on them meanwhile
        // (a server of that size indexed them long ago) and then compete with what is measured.
        await server.stop();
        const started = performance.now();
        await preloadRecords(database.url, seeded.adminUser.communityId, seeded.volunteer.user.id, preload);
        console.log(
          `\n${preload.toLocaleString('en')} records stored (${((performance.now() - started) / 1000).toFixed(1)} s, no ANALYZE)`,
        );
        server = await spawnServer(env);
      } else {
        console.log('\nempty database');
      }
      const writer = await signIn(server.url, 'victor@eastside.example', 'password-123');
      const reader = await signIn(server.url, 'cora@eastside.example', 'password-123');
      // Warm-up, not counted: a server in service has compiled its hot paths long ago.
      await push(
        server.url,
        writer,
        Array.from({ length: WARM_UP_CHANGES }, (_, i) => create('warm', updateFields(i))),
      );
      // Where a fresh reader of the new records starts: after everything preloaded (and the warm-up).
      const before = await pull(server.url, reader, null);
      const start = await pullEnd(database.url);

      const creates = Array.from({ length: CHANGES }, (_, i) => create('bench', updateFields(i)));
      const pushed = await push(server.url, writer, creates);
      pushed.name = 'push creates (1 client)';
      const pushRate = line(pushed);

      const passes = [];
      for (let pass = 0; pass < PULL_PASSES; pass += 1) passes.push(await pull(server.url, reader, before.cursor));
      const { median: fresh, first } = medianPass(passes);
      fresh.name = `pull them (median of ${PULL_PASSES})`;
      const pullRate = line(fresh);
      console.log(`    (first pass: ${(first.items / (first.ms / 1000)).toFixed(0)} /s)`);

      const editCount = Math.max(1, Math.round(CHANGES * 0.01));
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
      const edited = await push(server.url, writer, edits);
      edited.name = 'push 1% edits';
      line(edited);
      const delta = await pull(server.url, reader, fresh.cursor);
      delta.name = 'delta pull';
      line(delta);

      const more = Array.from({ length: CHANGES }, (_, i) => create('bench3', updateFields(i)));
      const concurrent = await push(server.url, writer, more, CLIENTS);
      concurrent.name = `push creates (${CLIENTS} clients)`;
      const concurrentRate = line(concurrent);

      // The baselines run with the server stopped: its assistant indexer, catching up on what was just
      // pushed, must not slow them down (that would flatter the ratios).
      await server.stop();
      const raw = await rawBaseline(database.url, creates);
      console.log(
        `  raw Postgres: INSERT…ON CONFLICT ${raw.insert.toFixed(0)} rows/s, SELECT pages ${raw.select.toFixed(0)} rows/s` +
          `  →  push ${(pushRate / raw.insert).toFixed(2)}× raw (${CLIENTS} clients ${(concurrentRate / raw.insert).toFixed(2)}×),` +
          ` pull ${(pullRate / raw.select).toFixed(2)}× raw`,
      );
      const stored = await storedRowsBaseline(database.url, CHANGES);
      console.log(
        `  raw Postgres, the rows Lifeline stored (record + change log, same columns and indexes): ${stored.toFixed(0)} changes/s` +
          `  →  push ${(pushRate / stored).toFixed(2)}× (${CLIENTS} clients ${(concurrentRate / stored).toFixed(2)}×)`,
      );
      const storedSelect = await storedRowsSelect(database.url, seeded.adminUser.communityId, start, CHANGES);
      console.log(
        `  raw Postgres, the same records read in pull order (no HTTP, no JSON building): ${storedSelect.toFixed(0)} rows/s` +
          `  →  pull ${(pullRate / storedSelect).toFixed(2)}×`,
      );
      summary.push(
        `  ${String(preload).padStart(7)} stored: push ${pushRate.toFixed(0)}/s, ${CLIENTS} clients ${concurrentRate.toFixed(0)}/s, pull ${pullRate.toFixed(0)}/s`,
      );
    } finally {
      await server.stop();
      await database.drop();
    }
  }
  console.log('\nsummary (same run):');
  for (const entry of summary) console.log(entry);
  closeWire();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
