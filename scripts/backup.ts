/**
 * npm run backup -- --to FILE   (DATABASE_URL names the database)
 *
 * A consistent snapshot of the whole database in pg_dump's custom format:
 * records, change log, accounts, sessions, hubs, the assistant's index.
 * Safe while the server runs (one repeatable-read transaction). Schedule it
 * with cron or a systemd timer, e.g. hourly:
 *   0 * * * *  cd /srv/lifeline && DATABASE_URL=... npm run backup -- --to /backups/lifeline-$(date +\%Y\%m\%d\%H).dump
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { to: { type: 'string' } } });
const url = process.env.DATABASE_URL;
if (!values.to || !url) {
  console.error('usage: DATABASE_URL=postgres://… npm run backup -- --to FILE');
  process.exit(2);
}
const started = performance.now();
const dump = spawnSync('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${values.to}`, url], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (dump.error || dump.status !== 0) {
  console.error(`backup failed: ${dump.error?.message ?? `pg_dump exited with ${dump.status}`}`);
  process.exit(1);
}
console.log(`backup written to ${values.to} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
