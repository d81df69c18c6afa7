/**
 * Throw-away PostgreSQL clusters (initdb + pg_ctl), for tests that need a
 * whole server of their own: a transaction counter that starts near 730 (so
 * a test can cross a power of ten cheaply), a second server for a hub, a
 * process to stop and restart. Run as the `postgres` user when we are root
 * (initdb refuses root). Autovacuum is off, as on the machine's own server:
 * statistics are never refreshed behind a test's back.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './process';

const run = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface ClusterOptions {
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  port?: number;
}

export interface Cluster {
  port: number;
  dataDir: string;
  /** A connection URL for one database of this cluster (`postgres` unless named). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<Row[]>;
  /** The cluster's current transaction id (this call uses one). */
  currentTxId(): Promise<bigint>;
  /** Consume transaction ids until the next one handed out is `target` (no-op if already past). */
  burnTransactionIdsTo(target: bigint): Promise<void>;
  start(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stop and delete everything. */
  destroy(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** Run a PostgreSQL binary, as `postgres` when we are root. */
export async function pgTool(tool: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const binary = path.join(PG_BIN, tool);
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  const { stdout } = await run(command, argv, { cwd: options.cwd ?? os.tmpdir(), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** A directory the postgres user owns. */
export async function postgresOwnedDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  await fs.chmod(dir, 0o700);
  return dir;
}

export async function createCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const root = await postgresOwnedDir('lifeline-pg');
  const dataDir = path.join(root, 'data');
  await pgTool('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const port = options.port ?? (await freePort());
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    autovacuum: 'off',
    fsync: 'off',
    max_connections: 200,
    ...options.settings,
  };
  const conf = Object.entries(settings)
    .map(([name, value]) => `${name} = '${String(value).replace(/'/g, "''")}'`)
    .join('\n');
  await fs.appendFile(path.join(dataDir, 'postgresql.conf'), `\nport = ${port}\n${conf}\n`);
  if (asRoot) await run('chown', ['-R', 'postgres:postgres', root]);

  const cluster = clusterAt(root, dataDir, port);
  await cluster.start();
  return cluster;
}

/**
 * A hot standby of `primary` streaming from it (pg_basebackup -R: a real
 * physical replica, read-only, replaying the primary's WAL), on its own port.
 */
export async function createStandby(primary: Cluster): Promise<Cluster> {
  const root = await postgresOwnedDir('lifeline-standby');
  const dataDir = path.join(root, 'data');
  await pgTool('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    dataDir,
    '-R',
    '-X',
    'stream',
    '--no-sync',
  ]);
  const port = await freePort();
  await fs.appendFile(
    path.join(dataDir, 'postgresql.conf'),
    `\nport = ${port}\nunix_socket_directories = '${root}'\nhot_standby = on\n`,
  );
  const standby = clusterAt(root, dataDir, port);
  await standby.start();
  return standby;
}

function clusterAt(root: string, dataDir: string, port: number): Cluster {
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const query = async <Row>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as Row[];
    } finally {
      await client.end();
    }
  };

  const cluster: Cluster = {
    port,
    dataDir,
    url,
    async createDatabase(name) {
      await query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return url(name);
    },
    query,
    async currentTxId() {
      const rows = await query<{ id: string }>('SELECT pg_current_xact_id()::text AS id');
      return BigInt(rows[0]!.id);
    },
    async burnTransactionIdsTo(target) {
      await query(`CREATE OR REPLACE PROCEDURE lifeline_burn_xids(n int) LANGUAGE plpgsql AS $$
        BEGIN FOR i IN 1..n LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$`);
      // CREATE and this read each take an id; the CALL's own statements take the rest.
      const now = await cluster.currentTxId();
      const needed = target - now - 1n;
      if (needed > 0n) await query(`CALL lifeline_burn_xids($1)`, [Number(needed)]);
    },
    async start() {
      await pgTool('pg_ctl', ['-D', dataDir, '-l', path.join(root, 'server.log'), '-w', '-t', '60', 'start']);
    },
    async stop(mode = 'fast') {
      await pgTool('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']).catch(() => undefined);
    },
    async destroy() {
      await cluster.stop('immediate');
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** The next power of ten above `n` (10 for 1..9, 1000 for 100..999, ...). */
export function nextPowerOfTen(n: bigint): bigint {
  let power = 10n;
  while (power <= n) power *= 10n;
  return power;
}

/** A unique database name for a test. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
