/**
 * The sync engine against the real backend (started here on a fresh Postgres
 * database), through the same API client the browser uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '@lifeline/core';
import { createApiClient } from '$lib/api/client';
import { endpoints, type Endpoints } from '$lib/api/endpoints';
import { getMeta, openLifelineDb, setMeta, type LifelineDb } from '$lib/db';
import { startBackend, type RunningBackend } from '../../../../tests/e2e/server';
import { runSync } from './engine';
import { writeFields } from './outbox';

let backend: RunningBackend;
const admin = { email: 'engine-admin@test.example', password: 'engine-password-1', displayName: 'Engine Admin' };
const volunteer = {
  email: 'engine-vol@test.example',
  password: 'engine-password-2',
  displayName: 'Vol',
  role: 'volunteer',
};

/** A fetch with its own cookie jar that sends Origin, as a browser tab on the app's origin does. */
function browserLikeFetch(origin: string): typeof fetch & { cookie: string } {
  const jar = { cookie: '' };
  const wrapped = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('origin', origin);
    if (jar.cookie) headers.set('cookie', jar.cookie);
    const response = await fetch(input, { ...init, headers });
    const set = response.headers.getSetCookie().map((c) => c.split(';')[0]!);
    if (set.length > 0) jar.cookie = set.join('; ');
    return response;
  }) as typeof fetch & { cookie: string };
  Object.defineProperty(wrapped, 'cookie', { get: () => jar.cookie, set: (v: string) => (jar.cookie = v) });
  return wrapped;
}

interface Client {
  db: LifelineDb;
  api: Endpoints;
  fetch: ReturnType<typeof browserLikeFetch>;
}

let dbCount = 0;
async function signedInClient(person: { email: string; password: string }): Promise<Client> {
  const f = browserLikeFetch(backend.baseUrl);
  const api = endpoints(createApiClient({ baseUrl: backend.baseUrl, fetch: f }));
  await api.login(person.email, person.password);
  const db = await openLifelineDb(`engine-${Date.now()}-${(dbCount += 1)}`);
  return { db, api, fetch: f };
}

/** `count` updates titled `${prefix}0`… written by a volunteer and synced to the server. */
async function publishUpdates(prefix: string, count: number): Promise<void> {
  const writer = await signedInClient(volunteer);
  for (let i = 0; i < count; i += 1) {
    await writeFields(writer.db, null, {
      entityType: 'update',
      entityId: crypto.randomUUID(),
      fields: { kind: 'status', title: `${prefix}${i}` },
      seen: {},
    });
  }
  await runSync({ db: writer.db, api: writer.api, reason: 'test' });
}

async function localRecord(client: Client, id: string): Promise<SyncRecord | undefined> {
  return client.db.get('records', ['update', id]);
}

beforeAll(async () => {
  backend = await startBackend('fe_unit');
  const setup = endpoints(createApiClient({ baseUrl: backend.baseUrl, fetch: browserLikeFetch(backend.baseUrl) }));
  await setup.setup({ community: 'Engine test', ...admin });
  const adminClient = await signedInClient(admin);
  await adminClient.api.createUser({ ...volunteer, role: 'volunteer' });
}, 90_000);

afterAll(async () => {
  await backend?.stop();
});

describe('sync engine against the real backend', () => {
  it('pushes the outbox, empties it, and pulls back the server state with server-set fields', async () => {
    const client = await signedInClient(volunteer);
    const id = crypto.randomUUID();
    await writeFields(client.db, null, {
      entityType: 'update',
      entityId: id,
      fields: { kind: 'need', title: 'Water' },
      seen: {},
    });
    const report = await runSync({ db: client.db, api: client.api, reason: 'test' });
    expect(report).toMatchObject({ ok: true, skipped: false, pushed: 1, rejected: 0, error: null });
    expect(await client.db.count('outbox')).toBe(0);
    const record = await localRecord(client, id);
    expect(record).toMatchObject({ fields: { title: 'Water', status: 'open', priority: 'normal' }, deletedAt: null });
    expect(record!.version).toBeGreaterThanOrEqual(1);
    expect(typeof record!.fields.createdBy).toBe('string');
    expect(await getMeta(client.db, 'lastSyncAt')).toBeTruthy();
    const log = await client.db.getAll('syncLog');
    expect(log.at(-1)).toMatchObject({ ok: true, pushed: 1, reason: 'test' });
  });

  it('sets a rejected change aside in needs-attention and still applies the rest of the batch', async () => {
    const client = await signedInClient(volunteer);
    const good = crypto.randomUUID();
    await writeFields(client.db, null, {
      entityType: 'update',
      entityId: good,
      fields: { kind: 'offer', title: 'Tent' },
      seen: {},
    });
    // Volunteers may not write documents: the server rejects this one change.
    const bad = await writeFields(client.db, null, {
      entityType: 'document',
      entityId: crypto.randomUUID(),
      fields: { title: 'Not allowed' },
      seen: {},
    });
    const report = await runSync({ db: client.db, api: client.api, reason: 'test' });
    expect(report).toMatchObject({ ok: true, pushed: 1, rejected: 1 });
    expect(await client.db.count('outbox')).toBe(0);
    const attention = await client.db.getAll('needsAttention');
    expect(attention).toHaveLength(1);
    expect(attention[0]).toMatchObject({ changeId: bad.changeId, error: { code: 'forbidden' } });
    expect((await localRecord(client, good))?.fields.title).toBe('Tent');
  });

  it('keeps the whole outbox and asks for a new sign-in on 401', async () => {
    const client = await signedInClient(volunteer);
    await writeFields(client.db, null, {
      entityType: 'update',
      entityId: crypto.randomUUID(),
      fields: { kind: 'need', title: 'A' },
      seen: {},
    });
    await writeFields(client.db, null, {
      entityType: 'update',
      entityId: crypto.randomUUID(),
      fields: { kind: 'need', title: 'B' },
      seen: {},
    });
    await client.api.logout();
    const report = await runSync({ db: client.db, api: client.api, reason: 'test' });
    expect(report).toMatchObject({ ok: false, authRequired: true, pushed: 0, error: { code: 'unauthorized' } });
    expect(await client.db.count('outbox')).toBe(2);
    expect(await getMeta(client.db, 'authRequired')).toBe(true);

    await client.api.login(volunteer.email, volunteer.password);
    const again = await runSync({ db: client.db, api: client.api, reason: 'test' });
    expect(again).toMatchObject({ ok: true, pushed: 2 });
    expect(await client.db.count('outbox')).toBe(0);
    expect(await getMeta(client.db, 'authRequired')).toBe(false);
  });

  it('keeps the outbox and counts the failure when the server cannot be reached', async () => {
    const client = await signedInClient(volunteer);
    await writeFields(client.db, null, {
      entityType: 'update',
      entityId: crypto.randomUUID(),
      fields: { kind: 'need', title: 'C' },
      seen: {},
    });
    const offline = endpoints(createApiClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 }));
    const report = await runSync({ db: client.db, api: offline, reason: 'test' });
    expect(report.ok).toBe(false);
    expect(report.error?.code).toMatch(/network|timeout/);
    expect(await client.db.count('outbox')).toBe(1);
    expect(await getMeta(client.db, 'failures')).toBe(1);
  });

  it('pulls page by page until hasMore is false', async () => {
    await publishUpdates('P', 7);
    const reader = await signedInClient(volunteer);
    const report = await runSync({ db: reader.db, api: reader.api, reason: 'test', pullLimit: 2 });
    expect(report.ok).toBe(true);
    const titles = (await reader.db.getAllFromIndex('records', 'byType', 'update')).map((r) => r.fields.title);
    for (let i = 0; i < 7; i += 1) expect(titles).toContain(`P${i}`);
    expect(report.pulled).toBe(await reader.db.count('records'));
  });

  it('asks for the next page while the current one is written, and a failed prefetch skips nothing', async () => {
    await publishUpdates('Q', 6);
    const reader = await signedInClient(volunteer);
    const events: string[] = [];
    let calls = 0;
    let failThird = true;
    const api: Endpoints = {
      ...reader.api,
      pull: (clientId, cursor, limit) => {
        calls += 1;
        events.push(`ask ${calls}`);
        // Refused at once, while the page before it is still being written: seen only when awaited.
        if (calls === 3 && failThird) return Promise.reject(new Error('link dropped'));
        return reader.api.pull(clientId, cursor, limit);
      },
    };
    const onProgress = (progress: { phase: string; pulled: number }) => {
      if (progress.phase === 'pull' && progress.pulled > 0) events.push(`applied ${progress.pulled}`);
    };
    const first = await runSync({ db: reader.db, api, reason: 'test', pullLimit: 2, onProgress });
    // Page 2 was asked for before page 1 was written, page 3 before page 2.
    expect(events.slice(0, 4)).toEqual(['ask 1', 'ask 2', 'applied 2', 'ask 3']);
    expect(first.ok).toBe(false);
    // Pages 1 and 2 are kept; the cursor is page 2's, so the next run goes on from there.
    const kept = await reader.db.count('records');
    expect(first.pulled).toBe(4);
    expect(kept).toBeGreaterThanOrEqual(4);

    failThird = false;
    const second = await runSync({ db: reader.db, api, reason: 'test', pullLimit: 2 });
    expect(second.ok).toBe(true);
    const titles = (await reader.db.getAllFromIndex('records', 'byType', 'update')).map((r) => r.fields.title);
    for (let i = 0; i < 6; i += 1) expect(titles).toContain(`Q${i}`);
    expect(second.pulled + first.pulled).toBe(await reader.db.count('records'));
  });

  it('starts the pull over from the beginning when the cursor belongs to another server', async () => {
    const client = await signedInClient(volunteer);
    await runSync({ db: client.db, api: client.api, reason: 'test' });
    const before = await client.db.count('records');
    const foreign = Buffer.from(JSON.stringify({ v: 1, s: crypto.randomUUID(), t: '1', q: 1 })).toString('base64url');
    await setMeta(client.db, 'cursor', foreign);
    await client.db.clear('records');
    const report = await runSync({ db: client.db, api: client.api, reason: 'test' });
    expect(report.ok).toBe(true);
    expect(await client.db.count('records')).toBe(before);
    expect(await getMeta(client.db, 'cursor')).not.toBe(foreign);
  });

  it('two replicas editing one title concurrently converge, and the losing value is kept in a conflict', async () => {
    const a = await signedInClient(volunteer);
    const b = await signedInClient(admin);
    const id = crypto.randomUUID();
    await writeFields(a.db, null, {
      entityType: 'update',
      entityId: id,
      fields: { kind: 'need', title: 'Start' },
      seen: {},
    });
    await runSync({ db: a.db, api: a.api, reason: 'test' });
    await runSync({ db: b.db, api: b.api, reason: 'test' });
    const seen = (await localRecord(b, id))!.stamps;
    await writeFields(a.db, null, { entityType: 'update', entityId: id, fields: { title: 'From A' }, seen });
    await writeFields(b.db, null, { entityType: 'update', entityId: id, fields: { title: 'From B' }, seen });
    await runSync({ db: a.db, api: a.api, reason: 'test' });
    const second = await runSync({ db: b.db, api: b.api, reason: 'test' });
    expect(second.conflicts).toBe(1);
    await runSync({ db: a.db, api: a.api, reason: 'test' });
    const [left, right] = [await localRecord(a, id), await localRecord(b, id)];
    expect(left!.fields.title).toBe(right!.fields.title);
    expect(left!.stamps.title).toBe(right!.stamps.title);
    const conflicts = (await a.db.getAllFromIndex('records', 'byType', 'conflict')).filter(
      (c) => c.fields.entityId === id,
    );
    expect(conflicts).toHaveLength(1);
    const values = (conflicts[0]!.fields.values as Array<{ value: unknown }>).map((v) => v.value).sort();
    expect(values).toEqual(['From A', 'From B']);
  });

  it('two tabs syncing at once push each change exactly once', async () => {
    const client = await signedInClient(volunteer);
    for (let i = 0; i < 5; i += 1) {
      await writeFields(client.db, null, {
        entityType: 'update',
        entityId: crypto.randomUUID(),
        fields: { kind: 'need', title: `T${i}` },
        seen: {},
      });
    }
    const reports = await Promise.all([
      runSync({ db: client.db, api: client.api, reason: 'tab 1' }),
      runSync({ db: client.db, api: client.api, reason: 'tab 2' }),
    ]);
    expect(reports.filter((r) => r.skipped)).toHaveLength(1);
    expect(reports.reduce((sum, r) => sum + r.pushed, 0)).toBe(5);
    expect(await client.db.count('outbox')).toBe(0);
  });
});
