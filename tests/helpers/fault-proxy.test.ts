/** The fault proxy itself: each mode does to real sockets what it says. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy';

let server: http.Server;
let proxy: FaultProxy;
let handled = 0;
let lastBodyLength = -1;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let length = 0;
    req.on('data', (chunk: Buffer) => (length += chunk.length));
    req.on('end', () => {
      handled += 1;
      lastBodyLength = length;
      res.setHeader('content-type', 'text/plain');
      res.end('x'.repeat(10_000));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  proxy = await FaultProxy.start((server.address() as AddressInfo).port);
});

afterAll(async () => {
  await proxy.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const call = async (body = 'hello', timeoutMs = 2000) => {
  const response = await fetch(`${proxy.url}/`, {
    method: 'POST',
    body,
    signal: AbortSignal.timeout(timeoutMs),
    headers: { connection: 'close' },
  });
  return { status: response.status, text: await response.text() };
};
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.name,
  );

describe('fault proxy', () => {
  it('when passing, then requests go through whole', async () => {
    await proxy.setMode({ kind: 'pass' });
    expect(await call()).toEqual({ status: 200, text: 'x'.repeat(10_000) });
  });

  it('when refusing, then nothing listens; when passing again, then the same port answers', async () => {
    await proxy.setMode({ kind: 'refuse' });
    expect(await failure(call())).toBe('ECONNREFUSED');
    await proxy.setMode({ kind: 'pass' });
    expect((await call()).status).toBe(200);
  });

  it('when resetting, then the connection fails at once', async () => {
    await proxy.setMode({ kind: 'reset' });
    expect(await failure(call())).not.toBe('ok');
  });

  it('when black-holed, then the client waits until its own timeout', async () => {
    await proxy.setMode({ kind: 'blackhole' });
    const before = handled;
    expect(await failure(call('hello', 300))).toBe('TimeoutError');
    expect(handled).toBe(before);
  });

  it('when the request is cut, then the server never sees it whole', async () => {
    await proxy.setMode({ kind: 'cut-request', afterBytes: 100 });
    const before = handled;
    expect(await failure(call('y'.repeat(50_000)))).not.toBe('ok');
    expect(handled === before || lastBodyLength < 50_000).toBe(true);
  });

  it('when the response is cut, then the server did the work and the answer is lost', async () => {
    await proxy.setMode({ kind: 'cut-response', afterBytes: 200 });
    const before = handled;
    expect(await failure(call())).not.toBe('ok');
    expect(handled).toBe(before + 1);
  });

  it('when delayed, then the answer still arrives whole', async () => {
    await proxy.setMode({ kind: 'delay', ms: 20 });
    expect(await call()).toEqual({ status: 200, text: 'x'.repeat(10_000) });
    await proxy.setMode({ kind: 'pass' });
  });
});
