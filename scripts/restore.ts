/**
 * npm run restore -- --from FILE --to postgres://…/fresh_database
 *
 * Restores a backup made by `npm run backup` into a database that must be new
 * and empty (created here if it does not exist). Start the server on it
 * afterwards: it sees that its records come from another cluster, re-bases
 * pull positions and takes a new server id, so every client pulls again from
 * the start and pushes what it still holds unsent.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } } });
if (!values.from || !values.to || !/^postgres(ql)?:\/\//.test(values.to)) {
  console.error('usage: npm run restore -- --from FILE --to postgres://user@host:5432/new_database');
  process.exit(2);
}
const target = new URL(values.to);
const name = decodeURIComponent(target.pathname.slice(1));
if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
  console.error(`restore: "${name}" is not a plain database name`);
  process.exit(2);
}

async function prepareEmptyDatabase(): Promise<void> {
  const adminUrl = new URL(values.to!);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const db = new pg.Client({ connectionString: values.to });
  await db.connect();
  try {
    const tables = await db.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1`);
    if (tables.rowCount !== 0) throw new Error(`${name} is not empty: restore into a new database`);
  } finally {
    await db.end();
  }
}

const started = performance.now();
prepareEmptyDatabase().then(
  () => {
    const restore = spawnSync(
      'pg_restore',
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        `--dbname=${values.to}`,
        values.from!,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (restore.error || restore.status !== 0) {
      console.error(`restore failed: ${restore.error?.message ?? `pg_restore exited with ${restore.status}`}`);
      process.exit(1);
    }
    console.log(`restored ${values.from} into ${name} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
  (error: unknown) => {
    console.error(`restore: ${(error as Error).message}`);
    process.exit(1);
  },
);
