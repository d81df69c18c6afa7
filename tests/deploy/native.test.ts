/**
 * deploy-local.sh --native, for real: a cloud server in this process (its own
 * Postgres database), a hub device registered through the admin API, and the
 * script starting the hub as a background process on embedded PGlite (and once
 * on its own Postgres). Every test has its own temp dir, settings file and port.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort } from '../helpers/process';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'deploy-local.sh');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Hub {
  dir: string;
  port: number;
  args: string[];
  env: Record<string, string>;
}

let cloud: TestServer;
let hubKey: string;
const hubs: Hub[] = [];
const databases: TestDatabase[] = [];

/** Run the script with a small, explicit environment (nothing leaks in from the test runner's). */
function runScript(args: string[], env: Record<string, string> = {}, timeoutMs = 150_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      cwd: os.tmpdir(),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? os.tmpdir(),
        LANG: 'C.UTF-8',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh temp dir, port and settings file for one hub. */
async function newHub(cloudUrl: string, key: string, env: Record<string, string> = {}): Promise<Hub> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeline-deploy-'));
  const port = await freePort();
  const hub: Hub = {
    dir,
    port,
    args: ['--native', '--env-file', path.join(dir, '.env'), '--data-dir', path.join(dir, 'data')],
    env: { UPSTREAM_INTERVAL_MS: '500', UPSTREAM_BACKOFF_MAX_MS: '2000', ...env },
  };
  hubs.push(hub);
  hub.args.push('--cloud-url', cloudUrl, '--hub-key', key, '--port', String(port));
  return hub;
}

const stopArgs = (hub: Hub) => ['--native', '--stop', '--env-file', path.join(hub.dir, '.env')];
const statusArgs = (hub: Hub) => ['--native', '--status', '--env-file', path.join(hub.dir, '.env')];

async function hubPid(hub: Hub): Promise<number | undefined> {
  const text = await readFile(path.join(hub.dir, 'data/hub.pid'), 'utf8').catch(() => undefined);
  return text ? Number(text.trim()) : undefined;
}

/** Running, as opposed to gone or a zombie (exited, waiting for whichever process adopted it to reap it). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined ? true : stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

const untilReady = <T>(what: string, probe: () => Promise<T | undefined | false>) => until(what, probe, 60_000, 200);

async function signIn(url: string, email: string, password: string) {
  const client = new ApiClient(url);
  const reply = await client.post('/api/auth/login', { email, password });
  return reply.status === 200 ? client : undefined;
}

const show = (run: Run) => `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

/** Start a hub with the script, and prove the whole path: ready, URL, sign-in with the cloud password, synced. */
async function deployAndCheck(hub: Hub) {
  const run = await runScript(hub.args, hub.env);
  expect(run.code, show(run)).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`Volunteers on this network: open http://\\S+:${hub.port} `));
  expect(run.stdout).toContain(`http://localhost:${hub.port}`);
  expect(run.stdout).toContain('The cloud is reachable and accepts this hub');
  expect(run.stdout).toContain('Eastside');

  const url = `http://127.0.0.1:${hub.port}`;
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: 'ready', mode: 'hub' });

  const volunteer = await untilReady('a member signs in at the hub with the cloud password', () =>
    signIn(url, 'victor@eastside.example', 'password-123'),
  );
  const status = await untilReady('the hub reports its first sync', async () => {
    const body = (await volunteer.get('/api/sync/status')).body;
    return body?.upstream?.lastSyncAt ? body : undefined;
  });
  expect(status).toMatchObject({ mode: 'hub', communityName: 'Eastside', upstream: { state: 'online' } });

  // With a hub that answers its own key, the script must have seen the first sync itself.
  const byKey = await new ApiClient(url, hubKey).get('/api/sync/status');
  if (byKey.status === 200) expect(run.stdout).toContain('First sync with the cloud finished');
  else expect(run.stdout).toContain('copying the community');

  const settings = await readFile(path.join(hub.dir, '.env'), 'utf8');
  expect(settings).toContain(`UPSTREAM_URL=${cloud.url}\n`);
  expect(settings).toContain(`HUB_API_KEY=${hubKey}\n`);
  expect(settings).toContain(`PORT=${hub.port}\n`);
  expect(settings).toMatch(/^SESSION_SECRET=[0-9a-f]{64}$/m);
  expect((await stat(path.join(hub.dir, '.env'))).mode & 0o077).toBe(0); // private: it holds the key
  return run;
}

async function stopAndCheck(hub: Hub) {
  const pid = await hubPid(hub);
  expect(pid).toBeGreaterThan(0);
  const stopped = await runScript(stopArgs(hub));
  expect(stopped.code, show(stopped)).toBe(0);
  expect(stopped.stdout).toContain('The hub is stopped');
  expect(await isAlive(pid!)).toBe(false);
  await expect(hubPid(hub)).resolves.toBeUndefined();
  await expect(fetch(`http://127.0.0.1:${hub.port}/readyz`)).rejects.toThrow();
}

beforeAll(async () => {
  cloud = await startTestServer();
  const seeded = await seedCommunity(cloud.url);
  const device = await seeded.admin.post('/api/devices', { name: 'Library hub', kind: 'hub' });
  expect(device.status).toBe(201);
  hubKey = device.body.apiKey;
}, 60_000);

afterAll(async () => {
  for (const hub of hubs) {
    await runScript(stopArgs(hub)).catch(() => undefined);
    const pid = await hubPid(hub);
    if (pid && (await isAlive(pid))) process.kill(pid, 'SIGKILL');
    await rm(hub.dir, { recursive: true, force: true });
  }
  await cloud?.stop();
  await Promise.all(databases.map((database) => database.drop()));
}, 120_000);

describe('deploy-local.sh --native', () => {
  it('when given the cloud and a hub key, then it starts an embedded hub that syncs, says so, and stops cleanly', async () => {
    const hub = await newHub(cloud.url, hubKey);
    await deployAndCheck(hub);

    // Again while it runs: it says so and changes nothing.
    const pid = await hubPid(hub);
    const again = await runScript(hub.args, hub.env);
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toContain(`already running (process ${pid})`);
    expect(await hubPid(hub)).toBe(pid);

    const status = await runScript(statusArgs(hub));
    expect(status.code, show(status)).toBe(0);
    expect(status.stdout).toContain(`The hub is running (process ${pid}) and ready`);

    await stopAndCheck(hub);
    const twice = await runScript(stopArgs(hub));
    expect(twice.code, show(twice)).toBe(0);
    expect(twice.stdout).toContain('not running');
    const after = await runScript(statusArgs(hub));
    expect(after.code).toBe(1);
    expect(after.stdout).toContain('Start it with: ./deploy-local.sh --native');
  }, 240_000);

  it('when DATABASE_URL names a local Postgres, then the hub uses it and remembers it', async () => {
    const database = await createTestDatabase('lifeline_deploy_hub');
    databases.push(database);
    const hub = await newHub(cloud.url, hubKey, { DATABASE_URL: database.url });
    const run = await deployAndCheck(hub);
    expect(run.stdout).toContain(`Database: Postgres at postgres://127.0.0.1:5432/${database.name}`);
    expect(await readFile(path.join(hub.dir, '.env'), 'utf8')).toContain(`DATABASE_URL=${database.url}\n`);
    await stopAndCheck(hub);
  }, 240_000);

  it('when the cloud address or the hub key is missing, then it says what to give and starts nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeline-deploy-'));
    hubs.push({ dir, port: 0, args: [], env: {} });
    const envFile = path.join(dir, '.env');
    const base = ['--native', '--env-file', envFile, '--data-dir', path.join(dir, 'data')];

    const neither = await runScript(base);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('cannot start without the cloud address and the hub key');
    expect(neither.stderr).toContain('--cloud-url https://your-cloud.example --hub-key YOUR_HUB_KEY');

    const noKey = await runScript([...base, '--cloud-url', cloud.url]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('cannot start without the hub key');

    const badUrl = await runScript([...base, '--cloud-url', 'cloud.example.org', '--hub-key', 'abc']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('does not look like a web address');

    await expect(stat(envFile)).rejects.toThrow(); // nothing half-written
    await expect(stat(path.join(dir, 'data/hub.pid'))).rejects.toThrow();
  });

  it('when the cloud refuses the hub key, then it says to get a new key and starts nothing', async () => {
    const hub = await newHub(cloud.url, 'not-a-real-key');
    const run = await runScript(hub.args, hub.env);
    expect(run.code, show(run)).toBe(3);
    expect(run.stderr).toContain('did not accept the hub key');
    expect(run.stderr).toContain('--hub-key NEW_KEY');
    await expect(hubPid(hub)).resolves.toBeUndefined();
  }, 60_000);

  it('when the cloud is unreachable, then the hub still starts and the script says it will sync when the cloud is back', async () => {
    const closedPort = await freePort(); // nothing listens there
    const hub = await newHub(`http://127.0.0.1:${closedPort}`, hubKey);
    const run = await runScript(hub.args, hub.env);
    expect(run.code, show(run)).toBe(0);
    expect(run.stdout).toContain('The cloud is not reachable right now');
    expect(run.stdout).toContain('will sync by itself as soon as the cloud is back');
    expect(run.stdout).toMatch(new RegExp(`http://\\S+:${hub.port}`));
    const ready = await fetch(`http://127.0.0.1:${hub.port}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', mode: 'hub' });
    await stopAndCheck(hub);
  }, 240_000);
});
