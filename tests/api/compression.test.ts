/**
 * Fewer bytes on slow links: answers are compressed as the client accepts,
 * compressed pushes are accepted, and a compressed bomb is refused whole.
 */
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpdate, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let cookie: string;

beforeAll(async () => {
  server = await startTestServer();
  const seeded = await seedCommunity(server.url);
  cookie = seeded.volunteer.client.sessionCookie!;
});

afterAll(async () => {
  await server?.stop();
});

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request with exactly these headers and bytes (fetch would add and decode encodings itself). */
function raw(path: string, headers: Record<string, string>, body?: Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${server.url}${path}`,
      { method: body ? 'POST' : 'GET', headers: { cookie, origin: server.url, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const decode = (reply: RawReply): unknown => {
  const encoding = reply.headers['content-encoding'];
  const bytes =
    encoding === 'br'
      ? zlib.brotliDecompressSync(reply.body)
      : encoding === 'gzip'
        ? zlib.gunzipSync(reply.body)
        : reply.body;
  return JSON.parse(bytes.toString('utf8'));
};

const pushBody = (count: number) =>
  Buffer.from(
    JSON.stringify({
      clientId: 'compressed',
      changes: Array.from({ length: count }, (_, i) => createUpdate('zip', { kind: 'need', title: `Water ${i}` })),
    }),
  );

describe('compression', () => {
  it('when a client accepts brotli or gzip, then sync answers come compressed, and plain when it accepts neither', async () => {
    await raw('/api/sync/push', { 'content-type': 'application/json' }, pushBody(50));
    const pull = Buffer.from(JSON.stringify({ clientId: 'reader', cursor: null }));
    const json = { 'content-type': 'application/json' };
    const br = await raw('/api/sync/pull', { ...json, 'accept-encoding': 'br, gzip' }, pull);
    const gzip = await raw('/api/sync/pull', { ...json, 'accept-encoding': 'gzip' }, pull);
    const plain = await raw('/api/sync/pull', json, pull);
    expect([br.headers['content-encoding'], gzip.headers['content-encoding']]).toEqual(['br', 'gzip']);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(decode(br)).toMatchObject({ records: expect.any(Array) });
    expect((decode(br) as { records: unknown[] }).records).toHaveLength(
      (decode(plain) as { records: unknown[] }).records.length,
    );
    expect(br.body.length).toBeLessThan(plain.body.length / 4);
  });

  it.each([
    ['gzip', (b: Buffer) => zlib.gzipSync(b)],
    ['br', (b: Buffer) => zlib.brotliCompressSync(b)],
    ['deflate', (b: Buffer) => zlib.deflateSync(b)],
  ])('when a push arrives %s-compressed, then it is applied as sent', async (encoding, compress) => {
    const body = pushBody(20);
    const reply = await raw(
      '/api/sync/push',
      { 'content-type': 'application/json', 'content-encoding': encoding },
      compress(body),
    );
    expect(reply.status).toBe(200);
    const { results } = decode(reply) as { results: Array<{ status: string }> };
    expect(results.map((r) => r.status)).toEqual(Array(20).fill('applied'));
  });

  it('when a small compressed body inflates past 5 MB, then it is a 413 and nothing of it is stored', async () => {
    const change = createUpdate('bomb', { kind: 'need', title: 'Bomb' });
    const padded = Buffer.from(
      JSON.stringify({ clientId: 'bomb', changes: [change], padding: ' '.repeat(6 * 1024 * 1024) }),
    );
    const bomb = await promisify(zlib.gzip)(padded);
    expect(bomb.length).toBeLessThan(20_000);
    const reply = await raw('/api/sync/push', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, bomb);
    expect(reply.status).toBe(413);
    expect(decode(reply)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    const lookup = await raw(`/api/records/update/${change.entityId}`, {});
    expect(lookup.status).toBe(404);
  });

  it('when a compressed body is corrupt or its encoding unknown, then the error is in the contract shape', async () => {
    const corrupt = await raw(
      '/api/sync/push',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      Buffer.from('not gzip at all'),
    );
    expect(corrupt.status).toBe(400);
    expect(decode(corrupt)).toMatchObject({ error: { code: expect.any(String) } });
    const unknown = await raw(
      '/api/sync/push',
      { 'content-type': 'application/json', 'content-encoding': 'zip' },
      pushBody(1),
    );
    expect(unknown.status).toBe(415);
    expect(decode(unknown)).toMatchObject({ error: { code: 'unsupported_encoding' } });
  });

  it('when an answer streams as server-sent events, then it is never compressed (each event goes out as written)', async () => {
    const reply = await raw(
      '/api/assistant/ask',
      { 'content-type': 'application/json', accept: 'text/event-stream', 'accept-encoding': 'br, gzip' },
      Buffer.from(JSON.stringify({ question: 'where is the water?' })),
    );
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/text\/event-stream/);
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(reply.body.toString()).toContain('event: done');
  });
});
