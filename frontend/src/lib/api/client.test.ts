import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createApiClient } from './client';

/** The request as it would leave the browser: headers and bytes. */
function capturing() {
  const seen: Array<{ headers: Headers; body: Buffer }> = [];
  const fetch = (async (_input: RequestInfo | URL, init: RequestInit = {}) => {
    const body = init.body;
    const bytes =
      typeof body === 'string' ? Buffer.from(body) : body instanceof ArrayBuffer ? Buffer.from(body) : Buffer.alloc(0);
    seen.push({ headers: new Headers(init.headers), body: bytes });
    return new Response(JSON.stringify({ ok: true }), { headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { seen, fetch };
}

describe('API client bodies', () => {
  it('sends a large body gzip-compressed, named in Content-Encoding, and a small one as it is', async () => {
    const { seen, fetch } = capturing();
    const client = createApiClient({ baseUrl: 'http://server', fetch });
    const big = { changes: Array.from({ length: 200 }, (_, i) => ({ title: `Water for shelter ${i}` })) };
    await client.post('/api/sync/push', big);
    await client.post('/api/auth/login', { email: 'a@b.example', password: 'x' });
    expect(seen[0]!.headers.get('content-encoding')).toBe('gzip');
    expect(JSON.parse(gunzipSync(seen[0]!.body).toString('utf8'))).toEqual(big);
    expect(seen[0]!.body.length).toBeLessThan(JSON.stringify(big).length / 4);
    expect(seen[1]!.headers.get('content-encoding')).toBeNull();
    expect(JSON.parse(seen[1]!.body.toString('utf8'))).toEqual({ email: 'a@b.example', password: 'x' });
  });

  it('sends bodies plain when told not to compress', async () => {
    const { seen, fetch } = capturing();
    const client = createApiClient({ baseUrl: 'http://server', fetch, compressRequests: false });
    await client.post('/api/sync/push', { padding: 'x'.repeat(5000) });
    expect(seen[0]!.headers.get('content-encoding')).toBeNull();
  });
});
