/**
 * Files between a hub and the cloud (backend/src/upstream/attachments.ts),
 * with real processes: the hub is a child process on its own database, the
 * link to the cloud runs through a fault proxy, and an HTTP gate in front
 * of it can hold only the attachment transfers (a stall of the files alone).
 *
 * A photo uploaded at the hub during an outage reaches the cloud after it;
 * one uploaded at the cloud reaches the hub; transfers cut mid-file on every
 * connection still complete (each try resumes where the last stopped, so a
 * restart from 0 never would); record sync goes on while a large transfer
 * is stalled. The listing is for hubs only and never crosses communities.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/server';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { FaultProxy } from '../helpers/fault-proxy';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

const MiB = 1024 * 1024;
const OPERATOR_TOKEN = 'operator-token-for-attachment-tests';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A "photo": a JPEG signature, then random bytes (each call a new file). */
function photo(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.set([0xff, 0xd8, 0xff, 0xe0], 0);
  return bytes;
}

function authHeaders(client: ApiClient, bearer?: string): Record<string, string> {
  if (bearer) return { authorization: `Bearer ${bearer}` };
  return client.sessionCookie ? { cookie: client.sessionCookie } : {};
}

/** The resumable upload as a member's browser does it: declare, then PATCH pieces of 1 MiB. */
async function upload(client: ApiClient, bytes: Buffer, name: string): Promise<string> {
  const hash = sha256(bytes);
  const declared = await client.post('/api/attachments', { hash, size: bytes.length, name });
  expect([200, 201]).toContain(declared.status);
  for (let offset = declared.body.attachment.received as number; offset < bytes.length;) {
    const piece = bytes.subarray(offset, offset + MiB);
    const reply = await fetch(`${client.baseUrl}/api/attachments/${hash}`, {
      method: 'PATCH',
      headers: {
        ...authHeaders(client),
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
      },
      body: Uint8Array.from(piece),
    });
    expect([200, 204]).toContain(reply.status);
    offset = Number(reply.headers.get('upload-offset'));
  }
  return hash;
}

async function download(client: ApiClient, hash: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${client.baseUrl}/api/attachments/${hash}`, {
    headers: { ...authHeaders(client), ...headers },
  });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** The file as `client`'s server serves it, once complete there. */
const holds = (client: ApiClient, hash: string) =>
  until(
    `${hash.slice(0, 8)} complete at ${client.baseUrl}`,
    async () => {
      const reply = await download(client, hash);
      return reply.status === 200 ? reply.bytes : undefined;
    },
    60_000,
    200,
  );

async function signIn(url: string, email: string, password: string) {
  const client = new ApiClient(url);
  const reply = await client.post('/api/auth/login', { email, password });
  return reply.status === 200 ? client : undefined;
}

/**
 * HTTP between the hub and the fault proxy: passes everything, except that
 * while `stalled` it takes attachment transfers (GET and PATCH of a file) and
 * never answers them. Released, it cuts what it held, as a dead route that
 * comes back does.
 */
class AttachmentGate {
  stalled = false;
  readonly held = new Set<net.Socket>();
  private server!: http.Server;
  url = '';

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const transfer = /^\/api\/attachments\/[0-9a-f]{64}/.test(req.url ?? '') && req.method !== 'HEAD';
      if (this.stalled && transfer && req.method !== 'POST') {
        this.held.add(req.socket);
        req.resume();
        return;
      }
      const forwarded = http.request(
        { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  release(): void {
    this.stalled = false;
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let cloudDb: TestDatabase;
let hubDb: TestDatabase;
let cloud: RunningServer;
let hub: ServerProcess;
let link: FaultProxy;
let gate: AttachmentGate;
let seeded: Awaited<ReturnType<typeof seedCommunity>>;
let hubKey: string;
let hubEnv: Record<string, string>;
let atHub: ApiClient;
let operator: ApiClient;

const hubStatus = async () => (await operator.get('/api/sync/status')).body.upstream;

beforeAll(async () => {
  [cloudDb, hubDb] = await Promise.all([createTestDatabase('lifeline_cloud'), createTestDatabase('lifeline_hub')]);
  const cloudPort = await freePort();
  cloud = await startServer(
    loadConfig({
      PORT: String(cloudPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATABASE_URL: cloudDb.url,
      OPERATOR_TOKEN,
    }),
  );
  seeded = await seedCommunity(cloud.url);
  const device = await seeded.admin.post('/api/devices', { name: 'Library hub', kind: 'hub' });
  hubKey = device.body.apiKey;
  link = await FaultProxy.start(cloudPort);
  gate = new AttachmentGate(link.port);
  await gate.start();
  hubEnv = {
    DATABASE_URL: hubDb.url,
    UPSTREAM_URL: gate.url,
    HUB_API_KEY: hubKey,
    UPSTREAM_INTERVAL_MS: '300',
    UPSTREAM_BACKOFF_MAX_MS: '1000',
  };
  hub = await spawnServer(hubEnv);
  operator = new ApiClient(hub.url, hubKey);
  atHub = await until(
    'volunteer can sign in at the hub',
    () => signIn(hub.url, 'victor@eastside.example', 'password-123'),
    60_000,
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(await hubStatus())}; the hub said:\n${hub.output()}`);
  });
}, 120_000);

afterAll(async () => {
  await hub?.stop();
  await gate?.stop();
  await link?.stop();
  await cloud?.close(1000);
  await Promise.all([cloudDb?.drop(), hubDb?.drop()]);
});

describe('attachments between a hub and the cloud', () => {
  it('lists complete files to hubs only, each hub its own community, page by page', async () => {
    const cloudMember = seeded.volunteer.client;
    const first = await upload(cloudMember, photo(40_000), 'first.jpg');
    const second = await upload(cloudMember, photo(50_000), 'second.jpg');
    // Declared, never finished: not listed.
    const unfinished = sha256(photo(10));
    await cloudMember.post('/api/attachments', { hash: unfinished, size: 10 });

    // Another community on the same cloud, with its own hub key and its own file.
    const other = await new ApiClient(cloud.url, OPERATOR_TOKEN).post('/api/communities', {
      name: 'Westside',
      admin: { email: 'admin@westside.example', password: 'password-456', displayName: 'Wes' },
    });
    expect(other.status).toBe(201);
    const otherAdmin = (await signIn(cloud.url, 'admin@westside.example', 'password-456'))!;
    const otherFile = await upload(otherAdmin, photo(30_000), 'west.jpg');
    const otherKey = (await otherAdmin.post('/api/devices', { name: 'West hub', kind: 'hub' })).body.apiKey;

    // Members, even admins, get 403.
    for (const member of [cloudMember, seeded.admin, otherAdmin]) {
      expect((await member.get('/api/attachments')).status).toBe(403);
    }
    expect((await new ApiClient(cloud.url).get('/api/attachments')).status).toBe(401);

    /** Every page of the listing with `key`, `limit` at a time. */
    const listAll = async (key: string, limit: number) => {
      const client = new ApiClient(cloud.url, key);
      const hashes: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages += 1) {
        const reply: { status: number; body: any } = await client.get(
          `/api/attachments?limit=${limit}${cursor ? `&after=${cursor}` : ''}`,
        );
        expect(reply.status).toBe(200);
        for (const item of reply.body.attachments) {
          expect(item).toMatchObject({ hash: expect.any(String), size: expect.any(Number), type: 'image/jpeg' });
          hashes.push(item.hash);
        }
        if (reply.body.cursor) cursor = reply.body.cursor;
        if (!reply.body.hasMore) return hashes;
      }
      throw new Error('the listing never ended');
    };
    const ours = await listAll(hubKey, 1);
    expect(ours).toEqual(expect.arrayContaining([first, second]));
    expect(new Set(ours).size).toBe(ours.length); // one page at a time, no file twice
    expect(ours).not.toContain(otherFile);
    expect(ours).not.toContain(unfinished);
    expect(await listAll(hubKey, 1000)).toEqual(ours); // a stable order
    expect(await listAll(otherKey, 1)).toEqual([otherFile]);
    expect((await new ApiClient(cloud.url, hubKey).get('/api/attachments?after=nonsense')).status).toBe(400);

    // The hub fetches its community's files (no record names them) and never the other one's.
    expect(sha256(await holds(atHub, first))).toBe(first);
    expect(sha256(await holds(atHub, second))).toBe(second);
    await until('the hub has nothing left to fetch', async () => (await hubStatus()).attachments.pendingDown === 0);
    expect((await download(atHub, otherFile)).status).toBe(404);
  }, 120_000);

  it('serves byte ranges (206 with Content-Range; 416 past the end)', async () => {
    const bytes = photo(3 * MiB + 12_345);
    const hash = await upload(seeded.volunteer.client, bytes, 'range.jpg');
    const whole = await download(seeded.volunteer.client, hash);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    for (const from of [1, MiB - 1, MiB, 2 * MiB + 7, bytes.length - 1]) {
      const part = await download(seeded.volunteer.client, hash, { range: `bytes=${from}-` });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${from}-${bytes.length - 1}/${bytes.length}`);
      expect(part.bytes.equals(bytes.subarray(from))).toBe(true);
    }
    const middle = await download(seeded.volunteer.client, hash, { range: `bytes=${MiB - 3}-${MiB + 2}` });
    expect(middle.status).toBe(206);
    expect(middle.bytes.equals(bytes.subarray(MiB - 3, MiB + 3))).toBe(true);
    const past = await download(seeded.volunteer.client, hash, { range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  }, 60_000);

  it('during an outage, files made on each side cross once the link returns', async () => {
    await link.setMode({ kind: 'refuse' });
    await until('the hub sees the cloud offline', async () => (await hubStatus()).state === 'offline');

    const hubPhoto = photo(700_000);
    const fromHub = await upload(atHub, hubPhoto, 'flooded-street.jpg');
    const cloudPhoto = photo(600_000);
    const fromCloud = await upload(seeded.volunteer.client, cloudPhoto, 'shelter.jpg');
    const waiting = await until('the hub counts its file as still to send', async () => {
      const status = await hubStatus();
      return status.attachments.pendingUp >= 1 && status.attachments.state === 'offline' ? status : undefined;
    });
    expect(waiting.attachments.lastError).toMatch(/unreachable/);
    expect((await download(seeded.volunteer.client, fromHub)).status).toBe(404);

    await link.setMode({ kind: 'pass' });
    const atCloud = await holds(seeded.volunteer.client, fromHub);
    expect(atCloud.equals(hubPhoto)).toBe(true);
    expect(sha256(atCloud)).toBe(fromHub);
    const received = await holds(atHub, fromCloud);
    expect(received.equals(cloudPhoto)).toBe(true);
    expect((await download(atHub, fromCloud)).headers.get('content-type')).toBe('image/jpeg');
    await until('nothing left to move', async () => {
      const { attachments } = await hubStatus();
      return attachments.pendingUp === 0 && attachments.pendingDown === 0 && attachments.failedDown === 0;
    });
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    expect(metrics).toMatch(/lifeline_upstream_attachment_transfers_total\{direction="up"\} [1-9]/);
    expect(metrics).toMatch(/lifeline_upstream_attachments_pending\{direction="up",state="pending"\} 0/);
  }, 120_000);

  it('a transfer cut mid-file on every connection still completes, resuming each time', async () => {
    // Each connection carries at most ~1.3 MB of answer: a download that restarted from 0 could never finish.
    await link.setMode({ kind: 'cut-response', afterBytes: 1_300_000 });
    const down = photo(3 * MiB + 200_000);
    const downHash = await upload(seeded.volunteer.client, down, 'big-down.jpg');
    const partial = await until('part of the file stored at the hub', async () => {
      const reply = await fetch(`${hub.url}/api/attachments/${downHash}`, {
        method: 'HEAD',
        headers: authHeaders(atHub),
      });
      const offset = Number(reply.headers.get('upload-offset'));
      return reply.status === 200 && offset > 0 && offset < down.length ? offset : undefined;
    });
    expect(partial % MiB).toBe(0);
    const received = await holds(atHub, downHash);
    expect(sha256(received)).toBe(downHash);
    expect(link.stats.cuts).toBeGreaterThan(0);

    // Up: each connection carries at most ~1.5 MB of request, so a PATCH of 1 MiB passes and the next is cut.
    await link.setMode({ kind: 'cut-request', afterBytes: 1_500_000 });
    const up = photo(3 * MiB + 100_000);
    const cutsBefore = link.stats.cuts;
    const upHash = await upload(atHub, up, 'big-up.jpg');
    const atCloud = await holds(seeded.volunteer.client, upHash);
    expect(atCloud.equals(up)).toBe(true);
    expect(link.stats.cuts).toBeGreaterThan(cutsBefore);
    await link.setMode({ kind: 'pass' });
    await until('nothing left to move', async () => {
      const { attachments } = await hubStatus();
      return attachments.pendingUp === 0 && attachments.pendingDown === 0;
    });
  }, 180_000);

  it('a hub restarted in the middle of an upload resumes from the offset the cloud holds', async () => {
    // A PATCH of 1 MiB passes per connection, the next is cut: the cloud holds part of the file.
    await link.setMode({ kind: 'cut-request', afterBytes: 1_500_000 });
    const bytes = photo(3 * MiB + 50_000);
    const hash = await upload(atHub, bytes, 'restart.jpg');
    const partial = await until('part of the file at the cloud', async () => {
      const reply = await fetch(`${cloud.url}/api/attachments/${hash}`, {
        method: 'HEAD',
        headers: authHeaders(seeded.volunteer.client),
      });
      const offset = Number(reply.headers.get('upload-offset'));
      return reply.status === 200 && offset > 0 && offset < bytes.length ? offset : undefined;
    });
    expect(await hub.stop()).toBe(0);
    await link.setMode({ kind: 'pass' });
    hub = await spawnServer({ ...hubEnv, PORT: new URL(hub.url).port });
    const atCloud = await holds(seeded.volunteer.client, hash);
    expect(atCloud.equals(bytes)).toBe(true);
    // The restarted hub sent only what the cloud lacked (it may have held more than `partial` by then).
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    const sent = Number(/lifeline_upstream_attachment_bytes_total\{direction="up"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(sent).toBeLessThanOrEqual(bytes.length - partial);
  }, 120_000);

  it('record sync goes on while a large file transfer is stalled', async () => {
    gate.stalled = true;
    const bigUp = photo(4 * MiB);
    const bigUpHash = await upload(atHub, bigUp, 'stalled-up.jpg');
    const bigDown = photo(4 * MiB);
    const bigDownHash = await upload(seeded.volunteer.client, bigDown, 'stalled-down.jpg');
    await until('the transfer is held by the gate', async () => gate.held.size > 0);
    // Several record rounds (every 300 ms) begin and end meanwhile: none may wait on the stalled file.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Records written on both sides cross while the files cannot.
    const fromHub = createUpdate('hubBrowser', { kind: 'need', title: 'Dry clothes at the school' });
    expect((await atHub.post('/api/sync/push', { clientId: 'hb', changes: [fromHub] })).status).toBe(200);
    const fromCloud = createUpdate('cloudBrowser', { kind: 'offer', title: 'Van with driver' });
    await seeded.volunteer.client.post('/api/sync/push', { clientId: 'cb', changes: [fromCloud] });
    await until(
      'hub record reaches the cloud',
      async () => (await seeded.volunteer.client.get(`/api/records/update/${fromHub.entityId}`)).status === 200,
      10_000,
    );
    await until(
      'cloud record reaches the hub',
      async () => (await atHub.get(`/api/records/update/${fromCloud.entityId}`)).status === 200,
      10_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await hubStatus())}\n${hub.output().slice(-3000)}`);
    });
    const status = await hubStatus();
    expect(status.state).toBe('online');
    expect(status.attachments.pendingUp + status.attachments.pendingDown).toBeGreaterThanOrEqual(1);
    expect(status.attachments.current).not.toBeNull();
    expect((await download(seeded.volunteer.client, bigUpHash)).status).not.toBe(200);

    // The route comes back: both files complete, intact.
    gate.release();
    expect((await holds(seeded.volunteer.client, bigUpHash)).equals(bigUp)).toBe(true);
    expect((await holds(atHub, bigDownHash)).equals(bigDown)).toBe(true);
  }, 120_000);
});
