/** Run the real server as a child process (as `npm start` would), for multi-instance and signal tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What scripts/build-server.mjs writes and `npm start` runs. */
export const SERVER_BUNDLE_PATH = path.join(ROOT, 'backend/dist/main.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Send a signal and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How the server is started: its TypeScript sources under tsx (tests: they test the sources), the bundle
 * `npm start` runs (benchmarks, via SERVER_BUNDLE=1: they measure what production runs), or
 * `scripts/start.mjs` itself (what `npm start` does: bundle, then serve).
 */
export type ServerLaunch = 'sources' | 'bundle' | 'start-script';

function launchArguments(launch: ServerLaunch): string[] {
  if (launch === 'bundle') return ['--enable-source-maps', SERVER_BUNDLE_PATH];
  if (launch === 'start-script') return ['scripts/start.mjs'];
  return ['--import', 'tsx', 'backend/src/main.ts'];
}

export async function spawnServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
  launch: ServerLaunch = process.env.SERVER_BUNDLE === '1' ? 'bundle' : 'sources',
): Promise<ServerProcess> {
  // A restart keeps its address (PORT given); otherwise any free port.
  const port = env.PORT ? Number(env.PORT) : await freePort();
  // e.g. SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the server a benchmark runs.
  const nodeArgs = process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, ...launchArguments(launch)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
