import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, createUpdate, seedCommunity } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.stop());

describe('health, readiness and metrics', () => {
  it('when the database answers, then healthz and readyz are 200', async () => {
    const client = new ApiClient(server.url);
    expect((await client.get('/healthz')).status).toBe(200);
    const ready = await client.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
  });

  it('when requests, pushes and failed logins happen, then /metrics counts them in Prometheus text', async () => {
    const seeded = await seedCommunity(server.url);
    await seeded.volunteer.client.post('/api/sync/push', { clientId: 'c', changes: [createUpdate('n')] });
    await seeded.volunteer.client.post('/api/sync/pull', { clientId: 'c', cursor: null });
    await new ApiClient(server.url).post('/api/auth/login', { email: 'nobody@x.example', password: 'nope-nope' });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/lifeline_http_requests_total\{method="POST",route="\/api\/sync\/push",status="200"\} 1/);
    expect(text).toMatch(/lifeline_sync_push_changes_total\{status="applied"\} 1/);
    expect(text).toMatch(/lifeline_sync_pull_records_total \d+/);
    expect(text).toMatch(/lifeline_auth_failures_total\{reason="credentials"\} 1/);
    expect(text).toMatch(/lifeline_http_request_duration_seconds_bucket/);
  });

  it('when a request carries X-Request-Id, then the response echoes it; otherwise one is made', async () => {
    const mine = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const made = await fetch(`${server.url}/api/auth/me`);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when the app is not built or a client route is asked for, then HTML comes back, never an API error', async () => {
    const response = await fetch(`${server.url}/updates/new`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/html/);
  });
});
