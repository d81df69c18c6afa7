/**
 * deploy-local.sh in its default (Docker) mode, without Docker: a stand-in
 * `docker` on PATH records what the script asks of Compose, and a small HTTP
 * server plays both the cloud and the hub container (readyz, sync status).
 * This checks the script's flow and messages, not Docker itself.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'deploy-local.sh');
const KEY = 'll_test_hub_key';

const FAKE_DOCKER = `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"$FAKE_DOCKER_DIR/calls"
[[ -f "$FAKE_DOCKER_DIR/daemon-down" && $1 == info ]] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }
case "$*" in
  "compose version") echo "Docker Compose version v2 (stand-in)" ;;
  *" ps -q hub") [[ -f "$FAKE_DOCKER_DIR/up" ]] && echo 0123456789ab ;;
  *" up -d") touch "$FAKE_DOCKER_DIR/up" ;;
  *" stop") rm -f "$FAKE_DOCKER_DIR/up" ;;
  *"exec -T ollama ollama list") printf 'NAME    ID    SIZE    MODIFIED\\n' ;;
  *"exec -T ollama ollama pull "*) echo "pulling manifest (stand-in)" ;;
esac
exit 0
`;

let dir: string;
let server: http.Server;
let port: number;
let statusCalls = 0;

function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], {
      cwd: os.tmpdir(),
      env: {
        PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
        HOME: dir,
        LANG: 'C.UTF-8',
        FAKE_DOCKER_DIR: dir,
        LIFELINE_ONLINE_CHECK_URL: `http://127.0.0.1:${port}/online`,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const calls = async () => (await readFile(path.join(dir, 'calls'), 'utf8').catch(() => '')).split('\n');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeline-docker-flow-'));
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin/docker'), FAKE_DOCKER);
  await chmod(path.join(dir, 'bin/docker'), 0o755);
  // The cloud and the hub container in one: both answer /api/sync/status for the hub key.
  server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/readyz') return json(200, { status: 'ready', serverId: 's', mode: 'hub' });
    if (req.url === '/online') return json(404, {});
    if (req.url === '/api/sync/status') {
      if (req.headers.authorization !== `Bearer ${KEY}`) {
        return json(401, { error: { code: 'invalid_api_key', message: 'this API key is not valid' } });
      }
      statusCalls += 1;
      return json(200, {
        serverId: 's',
        mode: 'hub',
        pendingConflicts: 0,
        communityId: 'c',
        communityName: 'Eastside',
        upstream: {
          state: 'online',
          lastSyncAt: statusCalls > 2 ? new Date().toISOString() : null,
          pendingUp: 0,
          rejectedUp: 0,
          lastError: null,
          nextAttemptAt: null,
        },
      });
    }
    json(404, { error: { code: 'not_found', message: 'no' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('deploy-local.sh (Docker mode, with a stand-in docker)', () => {
  it('writes .env, starts the stack, pulls the model, waits for the first sync and prints the URL; again says it runs', async () => {
    const envFile = path.join(dir, 'hub.env');
    const args = ['--env-file', envFile, '--cloud-url', `http://127.0.0.1:${port}/`, '--hub-key', KEY];
    const first = await run([...args, '--port', String(port)]);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    const compose = `compose --env-file ${envFile} -f ${path.join(ROOT, 'docker-compose.local.yml')}`;
    expect(await calls()).toEqual(
      expect.arrayContaining([
        'info',
        `${compose} up -d`,
        `${compose} exec -T ollama ollama list`,
        `${compose} exec -T ollama ollama pull llama3.2:1b`,
      ]),
    );
    const settings = await readFile(envFile, 'utf8');
    expect(settings).toContain(`UPSTREAM_URL=http://127.0.0.1:${port}\n`); // trailing slash dropped
    expect(settings).toContain(`HUB_API_KEY=${KEY}\n`);
    expect(settings).toContain('COMPOSE_PROJECT_NAME=lifeline-hub\n');
    expect(settings).toMatch(/^POSTGRES_PASSWORD=[0-9a-f]{64}$/m);
    expect(settings).toMatch(/^SESSION_SECRET=[0-9a-f]{64}$/m);
    expect((await stat(envFile)).mode & 0o077).toBe(0);

    expect(first.stdout).toContain('accepts this hub');
    expect(first.stdout).toContain('Downloading the model');
    expect(first.stdout).toContain('First sync with the cloud finished (community: Eastside)');
    expect(first.stdout).toMatch(new RegExp(`Volunteers on this network: open http://\\S+:${port} in a web browser`));
    expect(statusCalls).toBeGreaterThan(2); // it waited for lastSyncAt

    const secretBefore = /^SESSION_SECRET=.*$/m.exec(settings)![0];
    const again = await run(['--env-file', envFile]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already running');
    expect((await calls()).filter((line) => line.endsWith(' up -d'))).toHaveLength(1);
    expect(await readFile(envFile, 'utf8')).toContain(secretBefore); // secrets are not regenerated

    const status = await run(['--status', '--env-file', envFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Sync: cloud link online; last sync 20');

    const stopped = await run(['--stop', '--env-file', envFile]);
    expect(stopped.code).toBe(0);
    expect(await calls()).toContain(`${compose} stop`);
    expect(stopped.stdout).toContain('Its data is kept');
  });

  it('when offline, skips the model download and says how to get it later', async () => {
    const envFile = path.join(dir, 'offline.env');
    await rm(path.join(dir, 'up'), { force: true });
    const result = await run(['--env-file', envFile, '--cloud-url', `http://127.0.0.1:${port}`, '--hub-key', KEY], {
      PORT: String(port),
      LIFELINE_ONLINE_CHECK_URL: 'http://127.0.0.1:9/',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('No internet now: skipping the model download');
    expect(result.stdout).toContain('ollama pull llama3.2:1b');
  });

  it('when Docker is not running, says what to do', async () => {
    await writeFile(path.join(dir, 'daemon-down'), '');
    const down = await run(['--env-file', path.join(dir, 'down.env')]);
    await rm(path.join(dir, 'daemon-down'));
    expect(down.code).toBe(4);
    expect(down.stderr).toContain('Docker is installed but not running');
    expect(down.stderr).toContain('then run this again');
  });

  const dockerInSystemPath = ['/usr/bin/docker', '/bin/docker'].some((file) => existsSync(file));
  it.skipIf(dockerInSystemPath)('when Docker is not installed, says so and offers --native', async () => {
    const missing = await run(['--env-file', path.join(dir, 'down.env')], { PATH: '/usr/bin:/bin' });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('Docker is not installed');
    expect(missing.stderr).toContain('./deploy-local.sh --native');
  });
});
