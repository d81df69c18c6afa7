#!/usr/bin/env node
// `npm test` runs this first: make sure what the suite needs is on the machine.
// - Debian's Chromium for the Playwright end-to-end tests (apt, as root).
// - PostgreSQL on 127.0.0.1:5432 (tests create and drop their own databases).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
}

function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install Debian's "chromium" package (sudo apt-get install chromium)`,
    );
  }
  console.log('test-setup: installing Debian chromium…');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'chromium']);
}

async function postgresAnswers() {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensurePostgres() {
  if (await postgresAnswers()) return;
  if (existsSync('/etc/postgresql')) {
    for (const version of readdirSync('/etc/postgresql')) {
      console.log(`test-setup: starting PostgreSQL ${version}…`);
      try {
        execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
      } catch {
        // already starting, or another version: the readiness loop decides
      }
    }
  }
  for (let attempt = 0; attempt < 60; attempt += 1) {
    if (await postgresAnswers()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`PostgreSQL does not answer at ${POSTGRES_URL}`);
}

try {
  ensureChromium();
  await ensurePostgres();
  console.log('test-setup: chromium and PostgreSQL ready');
} catch (error) {
  console.error(`test-setup: ${error.message}`);
  process.exit(1);
}
