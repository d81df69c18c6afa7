/**
 * A TCP proxy that injects network faults between a client and a server:
 * refused connections, resets, black holes, delay, and connections cut in the
 * middle of a request or of a response (so a push can be applied with its
 * answer lost). Real sockets on loopback; the mode applies at once, to open
 * connections too.
 */
import net from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  /** Nothing listens: connecting fails with ECONNREFUSED. */
  | { kind: 'refuse' }
  /** Accept, then reset at once. */
  | { kind: 'reset' }
  /** Accept and read, never forward nor answer (a dead route, a frozen peer). */
  | { kind: 'blackhole' }
  /** Hold every chunk this long, each way, in order. */
  | { kind: 'delay'; ms: number }
  /** Forward this many bytes of what the client sends, then cut the connection. */
  | { kind: 'cut-request'; afterBytes: number }
  /** Forward the request whole; cut the connection after this many bytes of the answer. */
  | { kind: 'cut-response'; afterBytes: number };

export interface FaultStats {
  connections: number;
  refusedWhileClosed: number;
  cuts: number;
}

interface Pair {
  client: net.Socket;
  server: net.Socket | null;
  up: number;
  down: number;
  /** It lost bytes to a black hole: it can never carry on, so it is cut when the hole closes. */
  stalled: boolean;
  /** Serialises delayed chunks per direction. */
  upChain: Promise<void>;
  downChain: Promise<void>;
}

export class FaultProxy {
  private server: net.Server | null = null;
  private mode: FaultMode = { kind: 'pass' };
  private readonly pairs = new Set<Pair>();
  readonly stats: FaultStats = { connections: 0, refusedWhileClosed: 0, cuts: 0 };

  private constructor(
    private targetPort: number,
    private readonly host: string,
  ) {}

  private boundPort = 0;

  /** Listen on `port` (0: any free one) and forward to `targetPort`. */
  static async start(targetPort: number, port = 0, host = '127.0.0.1'): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort, host);
    await proxy.listen(port);
    return proxy;
  }

  get port(): number {
    return this.boundPort;
  }

  /** (Re)open the listener; after a `refuse` it comes back on the same port. */
  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        this.server = server;
        this.boundPort = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get currentMode(): FaultMode {
    return this.mode;
  }

  /** Point at another server port (a restarted process on a new port). */
  retarget(targetPort: number): void {
    this.targetPort = targetPort;
  }

  async setMode(mode: FaultMode): Promise<void> {
    this.mode = mode;
    for (const pair of this.pairs) {
      pair.up = 0;
      pair.down = 0;
    }
    if (mode.kind === 'refuse' || mode.kind === 'reset') {
      this.cutAll();
      if (mode.kind === 'refuse') await this.close();
      return;
    }
    if (mode.kind === 'blackhole') {
      // Open connections stop answering too; they stay open until the client gives up.
      return;
    }
    for (const pair of this.pairs) if (pair.stalled) this.cut(pair);
    if (!this.server) await this.listen(this.port);
  }

  /** Cut every open connection (a network blip). */
  cutAll(): void {
    for (const pair of this.pairs) this.cut(pair);
  }

  async stop(): Promise<void> {
    this.cutAll();
    await this.close();
  }

  private async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.stats.connections += 1;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    if (this.mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = {
      client,
      server: null,
      up: 0,
      down: 0,
      stalled: false,
      upChain: Promise.resolve(),
      downChain: Promise.resolve(),
    };
    this.pairs.add(pair);
    // A peer that finishes (not fails) is passed on in order, after any delayed chunks.
    client.on('end', () => void pair.upChain.then(() => pair.server?.end()));
    client.on('close', () => this.cut(pair));
    if (this.mode.kind === 'blackhole') {
      pair.stalled = true;
      client.on('data', () => undefined);
      return;
    }
    const server = net.connect({ port: this.targetPort, host: this.host, allowHalfOpen: true });
    pair.server = server;
    server.setNoDelay(true);
    server.on('error', () => this.cut(pair));
    server.on('end', () => void pair.downChain.then(() => client.end()));
    server.on('close', () => void pair.downChain.then(() => this.cut(pair)));
    client.on('data', (chunk: Buffer) => this.forward(pair, 'up', chunk));
    server.on('data', (chunk: Buffer) => this.forward(pair, 'down', chunk));
  }

  private forward(pair: Pair, direction: 'up' | 'down', chunk: Buffer): void {
    const mode = this.mode;
    const to = direction === 'up' ? pair.server : pair.client;
    if (!to || to.destroyed) return;
    if (mode.kind === 'blackhole') {
      pair.stalled = true;
      return;
    }
    const limit =
      mode.kind === 'cut-request' && direction === 'up'
        ? mode.afterBytes
        : mode.kind === 'cut-response' && direction === 'down'
          ? mode.afterBytes
          : Infinity;
    const sent = direction === 'up' ? pair.up : pair.down;
    if (sent + chunk.length > limit) {
      const allowed = Math.max(0, limit - sent);
      if (allowed > 0) to.write(chunk.subarray(0, allowed));
      this.stats.cuts += 1;
      // Let the allowed bytes reach the peer before the connection goes.
      setImmediate(() => this.cut(pair));
      return;
    }
    if (direction === 'up') pair.up += chunk.length;
    else pair.down += chunk.length;
    if (mode.kind === 'delay') {
      const chain = direction === 'up' ? 'upChain' : 'downChain';
      pair[chain] = pair[chain].then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            }, mode.ms),
          ),
      );
      return;
    }
    to.write(chunk);
  }

  private cut(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server?.destroy();
  }
}
