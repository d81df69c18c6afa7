/**
 * The deployment under test, as real processes on loopback: two cloud
 * instances on one Postgres cluster, a hub on a cluster of its own, and a
 * fault proxy on every link (browsers to each server, the hub to the cloud).
 * Servers are killed with real signals and restarted on the same port and
 * the same database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createCluster, type Cluster } from '../helpers/cluster';
import { FaultProxy } from '../helpers/fault-proxy';
import { freePort } from '../helpers/process';
import type { LinkName, ServerName } from './schedule';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUTPUT_LINES = 200;

/** One server process at a fixed port, that can be killed and started again. */
export class ManagedServer {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private lines: string[] = [];
  starts = 0;

  constructor(
    readonly name: ServerName,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.lines.join('\n');
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    this.starts += 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'backend/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(this.port), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(line);
      if (this.lines.length > OUTPUT_LINES) this.lines.splice(0, this.lines.length - OUTPUT_LINES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.output()}`);
      try {
        if ((await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Send a signal and wait for the process to be gone (SIGTERM drains; after 15 s it is killed). */
  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface Topology {
  cloudCluster: Cluster;
  hubCluster: Cluster;
  cloudDatabaseUrl: string;
  hubDatabaseUrl: string;
  servers: Record<ServerName, ManagedServer>;
  links: Record<LinkName, FaultProxy>;
  /** Point the hub's link at a cloud instance that is up (what a load balancer would do). */
  routeUpstream(): void;
  stop(): Promise<void>;
}

/** Topologies still up, so an interrupted run can take its processes and clusters down with it. */
export const runningTopologies = new Set<Topology>();

export interface TopologyOptions {
  upstreamIntervalMs: number;
}

/** Clusters, the cloud instances and the proxies; the hub is added once it has a key (`startHub`). */
export async function startCloud(options: TopologyOptions): Promise<{
  topology: Topology;
  startHub(hubKey: string): Promise<void>;
}> {
  const [cloudCluster, hubCluster] = await Promise.all([createCluster(), createCluster()]);
  const cloudDatabaseUrl = await cloudCluster.createDatabase('lifeline_cloud');
  const hubDatabaseUrl = await hubCluster.createDatabase('lifeline_hub');
  const [portA, portB, portHub] = [await freePort(), await freePort(), await freePort()];
  const cloudEnv = { DATABASE_URL: cloudDatabaseUrl };
  const servers = {
    'cloud-a': new ManagedServer('cloud-a', portA, cloudEnv),
    'cloud-b': new ManagedServer('cloud-b', portB, cloudEnv),
  } as Record<ServerName, ManagedServer>;
  await Promise.all([servers['cloud-a'].start(), servers['cloud-b'].start()]);
  const links: Record<LinkName, FaultProxy> = {
    'browsers-cloud-a': await FaultProxy.start(portA),
    'browsers-cloud-b': await FaultProxy.start(portB),
    'browsers-hub': await FaultProxy.start(portHub),
    'hub-cloud': await FaultProxy.start(portA),
  };

  const topology: Topology = {
    cloudCluster,
    hubCluster,
    cloudDatabaseUrl,
    hubDatabaseUrl,
    servers,
    links,
    routeUpstream() {
      const target =
        servers['cloud-a'].running || !servers['cloud-b'].running ? servers['cloud-a'] : servers['cloud-b'];
      links['hub-cloud'].retarget(target.port);
    },
    async stop() {
      runningTopologies.delete(topology);
      await Promise.all(Object.values(links).map((link) => link.stop()));
      await Promise.all(Object.values(servers).map((server) => server.kill('SIGKILL')));
      await Promise.all([cloudCluster.destroy(), hubCluster.destroy()]);
    },
  };
  runningTopologies.add(topology);
  return {
    topology,
    async startHub(hubKey) {
      servers.hub = new ManagedServer('hub', portHub, {
        DATABASE_URL: hubDatabaseUrl,
        UPSTREAM_URL: links['hub-cloud'].url,
        HUB_API_KEY: hubKey,
        UPSTREAM_INTERVAL_MS: String(options.upstreamIntervalMs),
        UPSTREAM_BACKOFF_MAX_MS: '1000',
      });
      await servers.hub.start();
    },
  };
}
