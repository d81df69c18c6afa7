/**
 * A hub on a LAN serves HTTPS itself (TLS_CERT_FILE/TLS_KEY_FILE): browsers
 * only run the offline app's service worker in a secure context, and session
 * cookies become Secure.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

let dir: string;
let cert: Buffer;
let server: TestServer;

function request(url: string, options: { method?: string; body?: unknown } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      const req = https.request(
        url,
        {
          method: options.method ?? 'GET',
          ca: cert,
          headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  server = await startTestServer({
    TLS_CERT_FILE: path.join(dir, 'cert.pem'),
    TLS_KEY_FILE: path.join(dir, 'key.pem'),
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('when TLS files are given, then it serves HTTPS and session cookies are Secure', async () => {
  expect(server.url).toMatch(/^https:\/\//);
  expect((await request(`${server.url}/readyz`)).status).toBe(200);
  const setup = await request(`${server.url}/api/auth/setup`, {
    method: 'POST',
    body: { community: 'Eastside', email: 'a@eastside.example', password: 'password-123', displayName: 'Ana' },
  });
  expect(setup.status).toBe(201);
  const cookie = String(setup.headers['set-cookie']);
  expect(cookie).toMatch(/lifeline\.sid=/);
  expect(cookie).toMatch(/Secure/);
  expect(cookie).toMatch(/HttpOnly/);
});
