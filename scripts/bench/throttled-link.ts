/**
 * A TCP proxy that behaves like a slow link, for benchmarks: one shared
 * pipe per direction of `bitsPerSecond`, and `latencyMs` one way on top
 * (1 Mbit/s with 300 ms, say, for a satellite or congested mobile link).
 * Bytes queue behind each other across all connections, as on a real link;
 * a sender is paused while more than a window of its bytes wait, so it
 * sees the link's pace instead of filling the proxy's memory.
 */
import net from 'node:net';

const WINDOW_BYTES = 64 * 1024;

class Pipe {
  /** When the last queued byte has left the sender's side of the link. */
  private busyUntil = 0;
  bytes = 0;

  constructor(
    public bitsPerSecond: number,
    public latencyMs: number,
  ) {}

  /** When `length` bytes offered now arrive at the far end. */
  schedule(length: number): number {
    const start = Math.max(performance.now(), this.busyUntil);
    this.busyUntil = start + (length * 8 * 1000) / this.bitsPerSecond;
    this.bytes += length;
    return this.busyUntil + this.latencyMs;
  }
}

export class ThrottledLink {
  readonly up: Pipe;
  readonly down: Pipe;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    bitsPerSecond: number,
    latencyMs: number,
  ) {
    this.up = new Pipe(bitsPerSecond, latencyMs);
    this.down = new Pipe(bitsPerSecond, latencyMs);
  }

  /** Change the link's speed from now on (Infinity and 0: no limit, as for setting up before measuring). */
  shape(bitsPerSecond: number, latencyMs: number): void {
    for (const pipe of [this.up, this.down]) {
      pipe.bitsPerSecond = bitsPerSecond;
      pipe.latencyMs = latencyMs;
    }
  }

  static async start(targetPort: number, bitsPerSecond: number, latencyMs: number): Promise<ThrottledLink> {
    const links: ThrottledLink[] = [];
    const server = net.createServer((client) => links[0]!.connect(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    links.push(new ThrottledLink(server, (server.address() as net.AddressInfo).port, bitsPerSecond, latencyMs));
    return links[0]!;
  }

  private connect(client: net.Socket, targetPort: number): void {
    const server = net.connect(targetPort, '127.0.0.1');
    this.sockets.add(client).add(server);
    this.relay(client, server, this.up);
    this.relay(server, client, this.down);
    const close = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  }

  private relay(from: net.Socket, to: net.Socket, pipe: Pipe): void {
    let waiting = 0;
    let ended = false;
    from.on('data', (chunk: Buffer) => {
      waiting += chunk.length;
      if (waiting > WINDOW_BYTES) from.pause();
      setTimeout(
        () => {
          waiting -= chunk.length;
          if (!to.destroyed) to.write(chunk);
          if (waiting <= WINDOW_BYTES) from.resume();
          if (ended && waiting === 0) to.end();
        },
        Math.max(0, pipe.schedule(chunk.length) - performance.now()),
      );
    });
    from.on('end', () => {
      ended = true;
      if (waiting === 0) to.end();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
