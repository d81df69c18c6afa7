/**
 * A client for benchmarks that counts bytes as they cross the wire: request
 * bodies gzip-compressed (as the PWA and the hub send them) and answers
 * compressed as the server chooses for `Accept-Encoding: br, gzip`. Keeps
 * connections alive, as browsers and the hub do.
 */
import http from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface WireReply<T> {
  status: number;
  body: T;
  /** Bytes of the request body as sent (compressed when it was). */
  up: number;
  /** Bytes of the answer body as received (compressed when it was). */
  down: number;
  ms: number;
  cookie?: string;
}

export interface WireOptions {
  cookie?: string;
  bearer?: string;
  /** gzip the request body (default: when it is over 1 KB, as the app does). */
  compress?: boolean;
  acceptEncoding?: string;
}

function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'br') return zlib.brotliDecompressSync(body);
  if (encoding === 'gzip') return zlib.gunzipSync(body);
  return body;
}

export async function wirePost<T = unknown>(url: string, path: string, payload: unknown, options: WireOptions = {}) {
  const json = Buffer.from(JSON.stringify(payload));
  const compress = options.compress ?? json.length >= 1024;
  const body = compress ? await gzip(json) : json;
  const started = performance.now();
  return new Promise<WireReply<T>>((resolve, reject) => {
    const request = http.request(
      url + path,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          origin: url,
          'accept-encoding': options.acceptEncoding ?? 'br, gzip',
          ...(compress ? { 'content-encoding': 'gzip' } : {}),
          ...(options.cookie ? { cookie: options.cookie } : {}),
          ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = decode(response.headers['content-encoding'], raw).toString('utf8');
          const setCookie = response.headers['set-cookie']?.find((c) => c.startsWith('lifeline.sid='));
          resolve({
            status: response.statusCode ?? 0,
            body: (text ? JSON.parse(text) : undefined) as T,
            up: body.length,
            down: raw.length,
            ms: performance.now() - started,
            cookie: setCookie?.split(';')[0],
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Sign in and return the session cookie. */
export async function signIn(url: string, email: string, password: string): Promise<string> {
  const reply = await wirePost(url, '/api/auth/login', { email, password }, { compress: false });
  if (reply.status !== 200 || !reply.cookie) throw new Error(`sign-in failed: ${reply.status}`);
  return reply.cookie;
}

export function closeWire(): void {
  agent.destroy();
}
