/**
 * A small HTTP client for tests that keeps a cookie jar, like a browser
 * tab would, and returns status + parsed body.
 */
import { formatStamp, newId } from '@lifeline/core';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class ApiClient {
  private cookie: string | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly bearer?: string,
  ) {}

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.bearer ? { authorization: `Bearer ${this.bearer}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie().find((value) => value.startsWith('lifeline.sid='));
    if (setCookie) this.cookie = setCookie.split(';')[0];
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get = <T = any>(path: string, headers?: Record<string, string>) => this.request<T>('GET', path, undefined, headers);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
    this.request<T>('POST', path, body ?? {}, headers);

  get sessionCookie(): string | undefined {
    return this.cookie;
  }
}

let counter = 0;
/** A stamp for a test writer: real wall time unless given, unique counter. */
export function stamp(nodeId: string, ms = Date.now()): string {
  counter = (counter + 1) % 100_000;
  return formatStamp({ ms, counter, nodeId });
}

/** New ids are time-ordered (UUID v7), as the PWA makes them; pass an `entityId` to test others. */
export function createUpdate(
  nodeId: string,
  fields: Record<string, unknown> = { kind: 'need', title: 'Water for 20 people' },
  entityId: string = newId(),
) {
  const s = stamp(nodeId);
  return {
    changeId: newId(),
    entityType: 'update',
    entityId,
    op: 'upsert' as const,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((key) => [key, s])) as Record<string, any>,
    base: Object.fromEntries(Object.keys(fields).map((key) => [key, null])),
    clientTime: new Date().toISOString(),
  };
}

export function edit(
  nodeId: string,
  entityId: string,
  fields: Record<string, unknown>,
  base: Record<string, string | null>,
  entityType = 'update',
) {
  const s = stamp(nodeId);
  return {
    changeId: newId(),
    entityType,
    entityId,
    op: 'upsert' as const,
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((key) => [key, s])) as Record<string, any>,
    base,
    clientTime: new Date().toISOString(),
  };
}

export function remove(nodeId: string, entityId: string, base: Record<string, string | null> = { deletedAt: null }) {
  return {
    changeId: newId(),
    entityType: 'update',
    entityId,
    op: 'delete' as const,
    stamps: { deletedAt: stamp(nodeId) } as Record<string, any>,
    base,
    clientTime: new Date().toISOString(),
  };
}

export const ADMIN = { email: 'admin@eastside.example', password: 'correct horse battery', displayName: 'Ana Admin' };

/** First-run setup plus a coordinator and a volunteer, each with its own signed-in client. */
export async function seedCommunity(url: string) {
  const admin = new ApiClient(url);
  const setup = await admin.post('/api/auth/setup', { community: 'Eastside', ...ADMIN });
  if (setup.status !== 201) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const signIn = async (role: 'coordinator' | 'volunteer', name: string) => {
    const email = `${name.toLowerCase()}@eastside.example`;
    const created = await admin.post('/api/users', { email, password: 'password-123', displayName: name, role });
    if (created.status !== 201) throw new Error(`create user failed: ${JSON.stringify(created.body)}`);
    const client = new ApiClient(url);
    const login = await client.post('/api/auth/login', { email, password: 'password-123' });
    if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
    return { client, user: created.body.user as { id: string; email: string } };
  };
  const coordinator = await signIn('coordinator', 'Cora');
  const volunteer = await signIn('volunteer', 'Victor');
  return { admin, adminUser: setup.body.user, coordinator, volunteer };
}

/** Pull everything after `cursor`: the update records seen, where it ended, or the refusal. */
export async function pullAll(client: ApiClient, cursor: string | null, limit = 1000) {
  const ids: string[] = [];
  for (;;) {
    const reply = await client.post('/api/sync/pull', { clientId: 'pull-all', cursor, limit });
    if (reply.status !== 200) return { status: reply.status, code: reply.body?.error?.code as string, ids, cursor };
    for (const record of reply.body.records as Array<{ entityType: string; entityId: string }>) {
      if (record.entityType === 'update') ids.push(record.entityId);
    }
    cursor = reply.body.cursor as string;
    if (!reply.body.hasMore) return { status: 200, code: undefined, ids, cursor };
  }
}
