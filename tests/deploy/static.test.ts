/**
 * The Docker side of the local hub (DESIGN.md section 7), checked statically:
 * there is no Docker engine where these tests run. The compose file's
 * structure, its environment against backend/src/config.ts, the Dockerfile's
 * stages, .dockerignore, .env.example, and the shell script's lint.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../backend/src/config';
import { configVariables, interpolate, read, referenced, ROOT } from './compose-helpers';

interface Service {
  image?: string;
  build?: string | { context: string };
  restart?: string;
  environment?: Record<string, string>;
  env_file?: unknown;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string; retries?: number; start_period?: string };
}

const compose = parse(read('docker-compose.local.yml')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const hub = services.hub!;

const healthTest = (service: Service) => {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
};

describe('docker-compose.local.yml', () => {
  it('has postgres 15, ollama and the hub, each restarting and health-checked', () => {
    expect(Object.keys(services).sort()).toEqual(['hub', 'ollama', 'postgres']);
    expect(services.postgres!.image).toBe('postgres:15');
    expect(services.ollama!.image).toMatch(/^ollama\/ollama(:|$)/);
    expect(hub.build === '.' || (typeof hub.build === 'object' && hub.build.context === '.')).toBe(true);
    for (const service of Object.values(services)) expect(service.restart).toBe('unless-stopped');

    expect(services.postgres!.healthcheck?.test[0]).toBe('CMD-SHELL');
    expect(healthTest(services.postgres!)).toMatch(/pg_isready -U lifeline -d lifeline/);
    expect(healthTest(services.ollama!)).toBe('CMD ollama list');
    const hubCheck = healthTest(hub);
    expect(hubCheck).toMatch(/^CMD node -e /); // the image has node, not curl
    expect(hubCheck).toContain("fetch('http://127.0.0.1:3000/readyz')");
    expect(hub.healthcheck?.start_period).toBeDefined(); // first start migrates the database
  });

  it('keeps data and models in named volumes', () => {
    expect(Object.keys(compose.volumes).sort()).toEqual(['hub-data', 'ollama-models', 'postgres-data']);
    expect(services.postgres!.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(services.ollama!.volumes).toEqual(['ollama-models:/root/.ollama']);
    expect(hub.volumes).toEqual(['hub-data:/app/data']);
  });

  it('starts the hub only once Postgres is healthy (and does not make it wait on Ollama being healthy)', () => {
    expect(hub.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      ollama: { condition: 'service_started' },
    });
  });

  it('publishes the hub on the port from .env and serves on 3000 inside', () => {
    expect(hub.ports).toEqual(['${PORT:-3000}:3000']);
    expect(hub.environment?.PORT).toBe('3000');
  });

  it('gives the hub only variables that backend/src/config.ts knows', () => {
    expect(configVariables.size).toBeGreaterThan(15);
    expect(hub.env_file).toBeUndefined(); // named one by one, so .env's Docker-only keys stay out
    const names = Object.keys(hub.environment ?? {});
    expect(names.filter((name) => !configVariables.has(name))).toEqual([]);
    for (const name of [
      'DATABASE_URL',
      'UPSTREAM_URL',
      'HUB_API_KEY',
      'UPSTREAM_INTERVAL_MS',
      'OLLAMA_URL',
      'OLLAMA_MODEL',
      'LLM_PROVIDER_ORDER',
      'GROQ_API_KEY',
      'SESSION_SECRET',
      'PORT',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('with a filled-in .env, gives a configuration the server accepts in hub mode', () => {
    const env = {
      POSTGRES_PASSWORD: 'pw',
      UPSTREAM_URL: 'https://cloud.example.org',
      HUB_API_KEY: 'll_key',
      SESSION_SECRET: 'secret',
    };
    const resolved = Object.fromEntries(
      Object.entries(hub.environment ?? {}).map(([name, value]) => [name, interpolate(String(value), env)]),
    );
    expect(resolved.DATABASE_URL).toBe('postgres://lifeline:pw@postgres:5432/lifeline');
    expect(interpolate(services.postgres!.environment!.POSTGRES_PASSWORD!, env)).toBe('pw');
    const config = loadConfig(resolved);
    expect(config).toMatchObject({
      mode: 'hub',
      port: 3000,
      databaseUrl: 'postgres://lifeline:pw@postgres:5432/lifeline',
      dataDir: '/app/data',
      upstream: { url: 'https://cloud.example.org', apiKey: 'll_key', intervalMs: 30_000 },
      ollama: { url: 'http://ollama:11434', model: 'llama3.2:1b' },
      llmProviderOrder: ['ollama', 'groq'],
      groq: undefined,
      sessionSecret: 'secret',
    });
  });

  it('refuses to start without the cloud, the hub key or the secrets, naming what to do', () => {
    const env = {
      POSTGRES_PASSWORD: 'pw',
      UPSTREAM_URL: 'https://cloud.example.org',
      HUB_API_KEY: 'k',
      SESSION_SECRET: 's',
    };
    for (const name of ['UPSTREAM_URL', 'HUB_API_KEY', 'SESSION_SECRET', 'POSTGRES_PASSWORD'] as const) {
      const without = { ...env, [name]: '' };
      expect(() =>
        Object.values(hub.environment ?? {}).forEach((value) => interpolate(String(value), without)),
      ).toThrow(new RegExp(`${name} is required: .*deploy-local\\.sh`));
    }
  });

  it('reads only variables that .env.example documents', () => {
    const example = read('.env.example');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!));
    const used = [...referenced(read('docker-compose.local.yml'))];
    expect(used.filter((name) => !documented.has(name))).toEqual([]);
    // Every setting the example offers is either the server's or Docker's own.
    const dockerOnly = new Set(['POSTGRES_PASSWORD', 'COMPOSE_PROJECT_NAME']);
    expect([...documented].filter((name) => !configVariables.has(name) && !dockerOnly.has(name))).toEqual([]);
  });
});

// `docker compose config` (or the older docker-compose) validates the file without an engine, when installed.
const composeCommand = (() => {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
})();

describe.skipIf(!composeCommand)(`${composeCommand?.join(' ') ?? 'docker compose'} config`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = (envText: string) => {
    const envFile = path.join(dir, 'env');
    writeFileSync(envFile, envText);
    const [command, ...args] = composeCommand!;
    return spawnSync(
      command!,
      [...args, '--env-file', envFile, '-f', path.join(ROOT, 'docker-compose.local.yml'), 'config'],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } },
    );
  };

  it('accepts the file with a complete .env', () => {
    const result = config(
      'POSTGRES_PASSWORD=pw\nUPSTREAM_URL=https://cloud.example.org\nHUB_API_KEY=k\nSESSION_SECRET=s\nPORT=3100\n',
    );
    expect(result.status, result.stderr).toBe(0);
    const resolved = parse(result.stdout) as { services: Record<string, Service> };
    expect(resolved.services.hub!.environment).toMatchObject({
      UPSTREAM_URL: 'https://cloud.example.org',
      DATABASE_URL: 'postgres://lifeline:pw@postgres:5432/lifeline',
    });
    expect(JSON.stringify(resolved.services.hub!.ports)).toContain('3100');
  });

  it('fails with the message from the file when the cloud address is missing', () => {
    const result = config('POSTGRES_PASSWORD=pw\nHUB_API_KEY=k\nSESSION_SECRET=s\n');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('run ./deploy-local.sh --cloud-url URL');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages = instructions.filter((line) => line.startsWith('FROM '));
  const runtime = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

  it('builds in stages on node:20-bookworm-slim', () => {
    expect(stages).toEqual([
      'FROM node:20-bookworm-slim AS deps',
      'FROM deps AS build',
      'FROM node:20-bookworm-slim AS runtime',
    ]);
  });

  it('installs from the lockfile and builds the web app', () => {
    expect(instructions).toContain('COPY package.json package-lock.json ./');
    expect(instructions).toContain('RUN npm ci');
    expect(instructions).toContain('RUN npm run build -w frontend');
    // Every workspace's package.json is there before `npm ci`, or the workspace links break.
    const ci = instructions.indexOf('RUN npm ci');
    for (const workspace of ['core', 'backend', 'frontend']) {
      const copy = instructions.indexOf(`COPY ${workspace}/package.json ${workspace}/package.json`);
      expect(copy).toBeGreaterThan(-1);
      expect(copy).toBeLessThan(ci);
    }
  });

  it('runs `node scripts/start.mjs` as a non-root user, on port 3000, with a /healthz check in node', () => {
    const user = runtime.findIndex((line) => line.startsWith('USER '));
    expect(runtime[user]).toBe('USER node');
    expect(runtime.findIndex((line) => line.startsWith('CMD '))).toBeGreaterThan(user);
    expect(runtime).toContain('EXPOSE 3000');
    expect(runtime).toContain('CMD ["node", "scripts/start.mjs"]');
    const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK '));
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/healthz/);
    expect(runtime.some((line) => /apt-get|curl/.test(line))).toBe(false);
  });

  it('copies into the runtime what the server needs, all of which exists or is built', () => {
    const copied = runtime
      .filter((line) => line.startsWith('COPY --from=build'))
      .flatMap((line) => line.split(/\s+/).slice(3, -1))
      .map((source) => source.replace(/^\/app\//, ''));
    for (const needed of [
      'node_modules',
      'core',
      'backend',
      'migrations',
      'scripts/start.mjs',
      'scripts/build-server.mjs',
      'frontend/build',
      'package.json',
    ]) {
      expect(copied).toContain(needed);
    }
    const produced = new Set(['node_modules', 'frontend/build']);
    expect(copied.filter((source) => !produced.has(source) && !existsSync(path.join(ROOT, source)))).toEqual([]);
  });

  it('.dockerignore keeps out local state and secrets, and nothing the build needs', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const pattern of ['.git', '**/node_modules', 'data', '.env', 'frontend/build', 'tests']) {
      expect(ignored).toContain(pattern);
    }
    for (const needed of [
      'package.json',
      'package-lock.json',
      'core',
      'backend',
      'frontend',
      'migrations',
      'scripts',
    ]) {
      expect(ignored).not.toContain(needed);
    }
  });
});

describe('deploy-local.sh', () => {
  const script = path.join(ROOT, 'deploy-local.sh');

  it('is strict bash and parses', () => {
    const text = readFileSync(script, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    execFileSync('bash', ['-n', script]);
  });

  const shellcheck = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!shellcheck)('is shellcheck-clean', () => {
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('explains itself with --help', () => {
    const help = execFileSync('bash', [script, '--help'], { encoding: 'utf8' });
    for (const option of ['--native', '--status', '--stop', '--cloud-url', '--hub-key', '--port', '--env-file']) {
      expect(help).toContain(option);
    }
  });
});
