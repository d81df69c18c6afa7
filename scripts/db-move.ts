/**
 * npm run db:move -- --to postgres://…/database  [--data-dir ./data]
 *
 * Copies the embedded database (PGlite in DATA_DIR) into Postgres, for a
 * community that outgrows one machine: records, change log, accounts and
 * their sessions, hubs and their keys, the assistant's index, server
 * settings. The target must be empty; it is migrated first. Stop the server
 * before moving. Then start it with DATABASE_URL set to the target: it sees
 * the database moved, re-bases pull positions and takes a new server id, so
 * every device pulls again from the start (people stay signed in).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Database } from '../backend/src/db/database';
import { migrate } from '../backend/src/db/migrate';
import { openPglite } from '../backend/src/db/pglite';
import { connectPostgres } from '../backend/src/db/postgres';

/** Parents before children (foreign keys). A table missing here stops the move rather than being left behind. */
const TABLES = [
  'server_meta',
  'communities',
  'users',
  'sessions',
  'devices',
  'records',
  'changes',
  'rate_limits',
  'assistant_passages',
  'upstream_outbox',
  'upstream_repull_seen',
  'attachments',
  'attachment_chunks',
  'attachment_downloads',
];
const BATCH = 1000;

async function columnsOf(db: Database, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER'
      ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((row) => row.column_name);
}

async function copyTable(from: Database, to: Database, table: string): Promise<number> {
  const columns = await columnsOf(to, table);
  const list = columns.map((column) => `"${column}"`).join(', ');
  let copied = 0;
  await from.transaction(async (source) => {
    await source.query(`DECLARE moving NO SCROLL CURSOR FOR SELECT to_jsonb(t) AS row FROM "${table}" t`);
    for (;;) {
      const { rows } = await source.query<{ row: unknown }>(`FETCH ${BATCH} FROM moving`);
      if (rows.length === 0) break;
      await to.query(
        `INSERT INTO "${table}" (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb)`,
        [JSON.stringify(rows.map((r) => r.row))],
      );
      copied += rows.length;
    }
  });
  return copied;
}

/** Sequences carry on after the highest value copied. */
async function advanceSequences(to: Database): Promise<void> {
  const { rows } = await to.query<{ table_name: string; column_name: string; column_default: string }>(
    `SELECT table_name, column_name, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND column_default LIKE 'nextval(%'`,
  );
  for (const row of rows) {
    const sequence = /nextval\('([^']+)'/.exec(row.column_default)?.[1];
    if (!sequence) continue;
    await to.query(
      `SELECT setval($1::regclass, greatest((SELECT max("${row.column_name}") FROM "${row.table_name}"), 1))`,
      [sequence],
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { to: { type: 'string' }, 'data-dir': { type: 'string' } } });
  if (!values.to || !/^postgres(ql)?:\/\//.test(values.to)) {
    console.error('usage: npm run db:move -- --to postgres://user@host:5432/database [--data-dir ./data]');
    process.exit(2);
  }
  const dataDir = path.resolve(values['data-dir'] ?? process.env.DATA_DIR ?? './data');
  const started = performance.now();
  const from = await openPglite(path.join(dataDir, 'pglite'));
  const to = connectPostgres(values.to);
  try {
    const quiet = () => undefined;
    await migrate(from, quiet);
    await migrate(to, quiet);
    const { rows: tables } = await from.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`,
    );
    const unknown = tables.map((t) => t.tablename).filter((name) => !TABLES.includes(name));
    if (unknown.length > 0)
      throw new Error(`db:move does not know table(s) ${unknown.join(', ')}: update scripts/db-move.ts`);
    const { rows: used } = await to.query<{ used: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM communities) OR EXISTS (SELECT 1 FROM records) AS used`,
    );
    if (used[0]?.used) throw new Error('the target database is not empty: move into a new database');
    // The embedded database's own id and settings carry over (sessions stay valid), not the target's fresh ones.
    await to.query('DELETE FROM server_meta');
    for (const table of TABLES) {
      const copied = await copyTable(from, to, table);
      console.log(`  ${table.padEnd(20)} ${copied.toLocaleString('en')} rows`);
    }
    await advanceSequences(to);
    console.log(
      `moved ${dataDir} into ${new URL(values.to).pathname.slice(1)} in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        'start the server with DATABASE_URL set to it',
    );
  } finally {
    await from.close();
    await to.close();
  }
}

main().catch((error: unknown) => {
  console.error(`db:move failed: ${(error as Error).message}`);
  process.exit(1);
});
