/**
 * The cloud at scale (docker-compose.cloud.yml), checked statically: there is
 * no Docker engine where these tests run. HAProxy in front of three identical
 * instances, their environment against backend/src/config.ts, the HAProxy
 * configuration as Compose fills it in (`haproxy -c`), graceful stops, health
 * checks, what is public, the optional services, and the files mounted in.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../backend/src/config';
import { configVariables, interpolate, read, referenced, ROOT } from './compose-helpers';

const COMPOSE_FILE = 'docker-compose.cloud.yml';

interface Service {
  image?: string;
  build?: string | { context: string };
  restart?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  env_file?: unknown;
  volumes?: string[];
  ports?: string[];
  expose?: unknown;
  network_mode?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] | string; interval?: string; retries?: number; start_period?: string };
}

interface Compose {
  'x-app': Service;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read(COMPOSE_FILE);
const compose = parse(composeText) as Compose;
const services = compose.services;
const APPS = ['app1', 'app2', 'app3'] as const;
const haproxy = services.haproxy!;
const app = services.app1!;
const appEnv = app.environment ?? {};

/** A sample `.env`: what an operator with Neon must fill in. */
const SAMPLE_ENV = { DATABASE_URL: 'postgres://u:p@db:5432/lifeline', SESSION_SECRET: 'x' };

/** Compose interpolates every value of the file (extension fields and optional services too). */
function interpolateAll(node: unknown, env: Record<string, string>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item: unknown) => interpolateAll(item, env));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]));
  }
  return node;
}

const resolvedAppEnv = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(appEnv).map(([name, value]) => [name, interpolate(String(value), env)]));

const healthTest = (service: Service) => {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
};

/** A Compose duration ("20s", "1m", "1m30s", "500ms") in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new Error(`not a duration: ${text}`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * units[unit!]!, 0);
}

/** The port of `host:port` or `:port`. */
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

describe('docker-compose.cloud.yml', () => {
  it('parses, with HAProxy and three instances always on, the rest behind profiles', () => {
    expect(Object.keys(services).sort()).toEqual(['app1', 'app2', 'app3', 'haproxy', 'postgres', 'prometheus']);
    for (const name of ['haproxy', ...APPS]) expect(services[name]!.profiles, name).toBeUndefined();
    expect(services.postgres!.profiles).toEqual(['selfhost']);
    expect(services.prometheus!.profiles).toEqual(['monitoring']);
    for (const [name, service] of Object.entries(services)) expect(service.restart, name).toBe('unless-stopped');
    expect(haproxy.image).toBe('haproxy:2.6');
    expect(services.postgres!.image).toBe('postgres:15');
    expect(services.prometheus!.image).toMatch(/^prom\/prometheus(:|$)/);
  });

  it('runs the three instances from one definition: the same image, built from the repository', () => {
    for (const name of APPS) expect(services[name], name).toEqual(compose['x-app']);
    for (const name of APPS) expect(composeText).toMatch(new RegExp(`^ {2}${name}: \\*app$`, 'm'));
    expect(app.build === '.' || (typeof app.build === 'object' && app.build.context === '.')).toBe(true);
    expect(app.image).toBeDefined(); // one tag for the three, not three builds of their own
    expect(app.env_file).toBeUndefined(); // named one by one, so .env's Docker-only keys stay out
  });

  it('gives the instances only variables that backend/src/config.ts knows', () => {
    expect(configVariables.size).toBeGreaterThan(15);
    const names = Object.keys(appEnv);
    expect(names.filter((name) => !configVariables.has(name))).toEqual([]);
    for (const name of [
      'PORT',
      'DATABASE_URL',
      'DATABASE_READ_URLS',
      'SESSION_SECRET',
      'SHUTDOWN_DRAIN_MS',
      'GROQ_API_KEY',
      'LOG_LEVEL',
      'OPERATOR_TOKEN',
    ]) {
      expect(names).toContain(name);
    }
    // Never a hub: no upstream, so every instance serves as the cloud.
    expect(names).not.toContain('UPSTREAM_URL');
    expect(names).not.toContain('HUB_API_KEY');
  });

  it('with a filled-in .env, gives a configuration the server accepts in cloud mode, draining 5 s', () => {
    const resolved = resolvedAppEnv(SAMPLE_ENV);
    expect(resolved).toMatchObject({ PORT: '3000', DATABASE_READ_URLS: '', LOG_LEVEL: 'info', GROQ_API_KEY: '' });
    expect(loadConfig(resolved)).toMatchObject({
      mode: 'cloud',
      port: 3000,
      databaseUrl: SAMPLE_ENV.DATABASE_URL,
      sessionSecret: 'x',
      shutdownDrainMs: 5000,
      logLevel: 'info',
      groq: undefined,
      operatorToken: undefined,
      upstream: undefined,
    });
  });

  it('passes read replicas through to a configuration the server accepts', () => {
    const replicas = 'postgres://u:p@replica1:5432/lifeline,postgres://u:p@replica2:5432/lifeline';
    const resolved = resolvedAppEnv({ ...SAMPLE_ENV, DATABASE_READ_URLS: replicas });
    expect(resolved.DATABASE_READ_URLS).toBe(replicas);
    expect(loadConfig(resolved)).toMatchObject({ mode: 'cloud', databaseUrl: SAMPLE_ENV.DATABASE_URL });
    // A bad replica list is refused (so the variable really reaches the schema, not dropped as unknown).
    expect(() => loadConfig(resolvedAppEnv({ ...SAMPLE_ENV, DATABASE_READ_URLS: 'mysql://nope' }))).toThrow(
      /DATABASE_READ_URLS/,
    );
  });

  it('interpolates the whole file from the sample .env, optional services included', () => {
    const resolved = interpolateAll(compose, SAMPLE_ENV) as Compose;
    expect(resolved.services.haproxy!.ports).toEqual(['8080:8080']);
    expect(resolved.services.postgres!.environment!.POSTGRES_PASSWORD).toBe('');
  });

  it('refuses to start without the database or the session secret, saying what to set', () => {
    for (const name of ['DATABASE_URL', 'SESSION_SECRET'] as const) {
      const without = { ...SAMPLE_ENV, [name]: '' };
      expect(() => interpolateAll(compose, without)).toThrow(new RegExp(`^${name} is required: ${name} is missing`));
      const message = /\$\{([A-Z_]+):\?([^}]*)\}/.exec(appEnv[name] ?? '');
      expect(message?.[1]).toBe(name);
      expect(message?.[2]).toMatch(/\.env/);
    }
  });

  it('points HAProxy at the three instances by service name, on the port they listen on', () => {
    const env = haproxy.environment ?? {};
    const addresses = ['LIFELINE_APP1', 'LIFELINE_APP2', 'LIFELINE_APP3'].map((name) => env[name]);
    expect(addresses).toEqual(APPS.map((name) => `${name}:${appEnv.PORT}`));
    expect(loadConfig(resolvedAppEnv(SAMPLE_ENV)).port).toBe(portOf(env.LIFELINE_APP1!));
    // The file reads exactly the variables the service sets.
    const cfgVariables = [...read('deploy/cloud/haproxy.cfg').matchAll(/"\$\{(LIFELINE_[A-Z0-9_]+)\}"/g)].map(
      (match) => match[1]!,
    );
    expect([...new Set(cfgVariables)].sort()).toEqual(Object.keys(env).sort());
    expect(haproxy.volumes).toContain('./deploy/cloud/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(Object.keys(haproxy.depends_on ?? {}).sort()).toEqual([...APPS]);
  });

  it("publishes HAProxy's front end, from PORT (8080 by default), and nothing else", () => {
    const bind = portOf(haproxy.environment!.LIFELINE_BIND!);
    expect(haproxy.ports).toHaveLength(1);
    const published = haproxy.ports![0]!;
    expect(portOf(published)).toBe(bind);
    expect(referenced(published)).toEqual(new Set(['PORT']));
    expect(interpolate(published, {})).toBe(`8080:${bind}`);
    expect(interpolate(published, { PORT: '443' })).toBe(`443:${bind}`);
    expect(portOf(haproxy.environment!.LIFELINE_STATS!)).not.toBe(bind); // stats stay internal
    for (const [name, service] of Object.entries(services)) {
      if (name === 'haproxy') continue;
      expect(service.ports, name).toBeUndefined();
      expect(service.network_mode, name).toBeUndefined();
    }
  });

  it('stops an instance only after its drain and in-flight grace are over', () => {
    const drainMs = Number(appEnv.SHUTDOWN_DRAIN_MS);
    expect(drainMs).toBe(5000);
    // How long server.close() lets in-flight requests finish after the drain.
    const grace = /close\(graceMs = ([\d_]+)\)/.exec(read('backend/src/server.ts'));
    expect(grace, 'backend/src/server.ts: close(graceMs = ...) not found').not.toBeNull();
    const graceMs = Number(grace![1]!.replace(/_/g, ''));
    expect(graceMs).toBe(10_000);
    expect(app.stop_grace_period).toBeDefined();
    expect(durationMs(app.stop_grace_period!)).toBeGreaterThan(drainMs + graceMs);
  });

  it('checks the instances on /readyz (as HAProxy does), with node since the image has no curl', () => {
    const check = healthTest(app);
    expect(check).toMatch(/^CMD node -e /);
    expect(check).toContain(`fetch('http://127.0.0.1:${appEnv.PORT}/readyz')`);
    expect(app.healthcheck?.start_period).toBeDefined(); // the first start migrates the database
    expect(read('deploy/cloud/haproxy.cfg')).toMatch(/http-check send meth GET uri \/readyz/);
    expect(services.postgres!.healthcheck?.test[0]).toBe('CMD-SHELL');
    expect(healthTest(services.postgres!)).toMatch(/pg_isready -U lifeline -d lifeline/);
  });

  it('never makes an always-on service require a service behind a profile', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, options] of Object.entries(service.depends_on ?? {})) {
        const target = services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        const shared = (target!.profiles ?? []).some((profile) => (service.profiles ?? []).includes(profile));
        if (target!.profiles && !shared) expect(options.required, `${name} -> ${dependency}`).toBe(false);
      }
    }
    expect(app.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  it('mounts only files that exist in the repository, and declares its named volumes', () => {
    const mounts = Object.entries(services).flatMap(([name, service]) =>
      (service.volumes ?? []).map((volume) => ({ name, source: volume.split(':')[0]! })),
    );
    const binds = mounts.filter((mount) => mount.source.startsWith('.') || mount.source.startsWith('/'));
    expect(binds.map((mount) => mount.source).sort()).toEqual([
      './deploy/cloud/haproxy.cfg',
      './deploy/monitoring/alerts.yml',
      './deploy/monitoring/prometheus.yml',
    ]);
    expect(binds.filter((mount) => !existsSync(path.join(ROOT, mount.source))).map((mount) => mount.source)).toEqual(
      [],
    );
    const named = mounts.filter((mount) => !binds.includes(mount)).map((mount) => mount.source);
    expect(named.sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });

  it('.env.cloud.example documents every variable the file reads, and only ones someone reads', () => {
    const example = read('.env.cloud.example');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!));
    expect([...referenced(composeText)].filter((name) => !documented.has(name))).toEqual([]);
    const dockerOnly = new Set(['POSTGRES_PASSWORD', 'COMPOSE_PROJECT_NAME', 'COMPOSE_PROFILES']);
    expect([...documented].filter((name) => !configVariables.has(name) && !dockerOnly.has(name))).toEqual([]);
    // The sample .env here is exactly what the example marks as required (its comment starts "# Required.").
    const required = example
      .split(/\n\s*\n/)
      .filter((block) => block.startsWith('# Required.'))
      .flatMap((block) => [...block.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]!));
    expect(required.sort()).toEqual(Object.keys(SAMPLE_ENV).sort());
  });
});

// haproxy -c parses deploy/cloud/haproxy.cfg as the container would, with the compose file's values.
const haproxyBinary = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((file) => existsSync(file));

describe.skipIf(!haproxyBinary)('haproxy -c with the compose environment', () => {
  const check = (env: Record<string, string>) =>
    spawnSync(haproxyBinary!, ['-c', '-f', path.join(ROOT, 'deploy/cloud/haproxy.cfg')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    });
  // The service names only resolve inside the Compose network: the same addresses on 127.0.0.1.
  const local = Object.fromEntries(
    Object.entries(haproxy.environment ?? {}).map(([name, value]) => [
      name,
      value.replace(new RegExp(`^(${APPS.join('|')}):`), '127.0.0.1:'),
    ]),
  );

  it('accepts the configuration', () => {
    expect(Object.values(local).filter((value) => APPS.some((name) => value.startsWith(`${name}:`)))).toEqual([]);
    const result = check(local);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('fails without the addresses (so the check above means something)', () => {
    const result = check({ ...local, LIFELINE_APP2: '' });
    expect(result.status).not.toBe(0);
  });
});

describe('Prometheus (the monitoring profile)', () => {
  const configFile = 'deploy/monitoring/prometheus.yml';

  it('scrapes the three instances and HAProxy at the addresses the compose file gives them', () => {
    const prometheus = parse(read(configFile)) as {
      rule_files?: string[];
      scrape_configs?: { static_configs?: { targets?: string[] }[] }[];
    };
    const targets = new Set(
      (prometheus.scrape_configs ?? []).flatMap((job) => (job.static_configs ?? []).flatMap((s) => s.targets ?? [])),
    );
    const env = haproxy.environment!;
    for (const target of [
      env.LIFELINE_APP1,
      env.LIFELINE_APP2,
      env.LIFELINE_APP3,
      `haproxy:${portOf(env.LIFELINE_STATS!)}`,
    ]) {
      expect([...targets]).toContain(target);
    }
    // Rule files are read relative to prometheus.yml, where alerts.yml is mounted next to it.
    const mounted = services.prometheus!.volumes ?? [];
    for (const rules of prometheus.rule_files ?? []) {
      const inContainer = path.posix.resolve('/etc/prometheus', rules);
      expect(
        mounted.some((volume) => volume.split(':')[1] === inContainer),
        rules,
      ).toBe(true);
    }
  });
});

// `docker compose config` validates the file without an engine, where Docker Compose is installed.
const hasCompose = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasCompose)('docker compose config', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-cloud-compose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = (envText: string, ...profiles: string[]) => {
    const envFile = path.join(dir, 'env');
    writeFileSync(envFile, envText);
    return spawnSync(
      'docker',
      [
        'compose',
        '--env-file',
        envFile,
        '-f',
        path.join(ROOT, COMPOSE_FILE),
        ...profiles.flatMap((profile) => ['--profile', profile]),
        'config',
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } },
    );
  };

  it('accepts the file with a complete .env, with and without the profiles', () => {
    for (const profiles of [[], ['selfhost', 'monitoring']]) {
      const result = config('DATABASE_URL=postgres://u:p@db:5432/lifeline\nSESSION_SECRET=x\n', ...profiles);
      expect(result.status, result.stderr).toBe(0);
    }
  });

  it('fails with the message from the file when DATABASE_URL is missing', () => {
    const result = config('SESSION_SECRET=x\n');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('DATABASE_URL is missing from .env');
  });
});
