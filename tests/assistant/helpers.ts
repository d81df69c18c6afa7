/**
 * Test harness: a uniquely named Postgres database per suite (dropped after),
 * the real server on port 0, a signed-in member, documents pushed through
 * the sync API, and an SSE reader.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../../backend/src/config';
import { startServer, type RunningServer } from '../../backend/src/server';
import { createTestDatabase as createSharedTestDatabase, type TestDatabase } from '../helpers/database';

export { ADMIN_URL, type TestDatabase } from '../helpers/database';

export function createTestDatabase(): Promise<TestDatabase> {
  return createSharedTestDatabase('lifeline_assistant');
}

export async function freshDataDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeline-assistant-'));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

export function startTestServer(env: Record<string, string | undefined>, log?: Logger): Promise<RunningServer> {
  return startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }), log);
}

let stampCounter = 0;
/** An HLC stamp `<15-digit ms>:<5-digit counter>:<node>`, increasing within the test process. */
export function stamp(node = 'nodeTest'): string {
  stampCounter = (stampCounter + 1) % 100_000;
  return `${String(Date.now()).padStart(15, '0')}:${String(stampCounter).padStart(5, '0')}:${node}`;
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
  /** ms since the request was sent. */
  at: number;
}

/** A signed-in member talking to one server with its cookie. */
export class Member {
  private cookie = '';
  private readonly stamps = new Map<string, Record<string, string>>();

  constructor(readonly baseUrl: string) {}

  get cookieHeader(): string {
    return this.cookie;
  }

  static async login(baseUrl: string, email: string, password: string): Promise<Member> {
    const member = new Member(baseUrl);
    const res = await member.request('POST', '/api/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
    return member;
  }

  static async setup(baseUrl: string, community = 'Riverside'): Promise<Member> {
    const member = new Member(baseUrl);
    const res = await member.request('POST', '/api/auth/setup', {
      community,
      email: `admin-${randomBytes(4).toString('hex')}@example.org`,
      password: 'correct horse battery',
      displayName: 'Ada Admin',
    });
    if (res.status !== 201) throw new Error(`setup failed: ${res.status} ${await res.text()}`);
    return member;
  }

  async communityId(): Promise<string> {
    const res = await this.request('GET', '/api/auth/me');
    return ((await res.json()) as { user: { communityId: string } }).user.communityId;
  }

  async request(method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(this.baseUrl + pathname, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = res.headers.getSetCookie().find((value) => value.startsWith('lifeline.sid='));
    if (setCookie) this.cookie = setCookie.split(';')[0]!;
    return res;
  }

  /** Create or edit a document or update through POST /api/sync/push; returns its id. */
  async write(
    entityType: 'document' | 'update',
    fields: Record<string, unknown>,
    entityId: string = randomUUID(),
  ): Promise<string> {
    const seen = this.stamps.get(entityId) ?? {};
    const stamps: Record<string, string> = {};
    const base: Record<string, string | null> = {};
    for (const field of Object.keys(fields)) {
      stamps[field] = stamp();
      base[field] = seen[field] ?? null;
    }
    await this.push({
      changeId: randomUUID(),
      entityType,
      entityId,
      op: 'upsert',
      fields,
      stamps,
      base,
      clientTime: new Date().toISOString(),
    });
    this.stamps.set(entityId, { ...seen, ...stamps });
    return entityId;
  }

  async remove(entityType: 'document' | 'update', entityId: string): Promise<void> {
    const deletedAt = stamp();
    await this.push({
      changeId: randomUUID(),
      entityType,
      entityId,
      op: 'delete',
      stamps: { deletedAt },
      base: { deletedAt: null },
      clientTime: new Date().toISOString(),
    });
  }

  private async push(change: Record<string, unknown>): Promise<void> {
    const res = await this.request('POST', '/api/sync/push', { clientId: 'assistant-tests', changes: [change] });
    const body = (await res.json()) as { results?: { status: string; error?: unknown }[] };
    const status = body.results?.[0]?.status;
    if (res.status !== 200 || (status !== 'applied' && status !== 'merged')) {
      throw new Error(`push failed: ${res.status} ${JSON.stringify(body)}`);
    }
  }

  async askJson(question: unknown) {
    const res = await this.request('POST', '/api/assistant/ask', { question });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** POST /ask with Accept: text/event-stream; resolves when the server ends the stream. */
  async askStream(question: string): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
    const started = performance.now();
    const res = await this.request('POST', '/api/assistant/ask', { question }, { accept: 'text/event-stream' });
    const events: SseEvent[] = [];
    if (!res.body) return { status: res.status, contentType: res.headers.get('content-type'), events };
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data), at: performance.now() - started });
      }
    }
    return { status: res.status, contentType: res.headers.get('content-type'), events };
  }
}

export const answerText = (events: SseEvent[]) =>
  events
    .filter((event) => event.event === 'token')
    .map((event) => String(event.data.text))
    .join('');

/** A guide long enough that only one of its sections answers a given question. */
export const WATER_GUIDE = [
  '# Emergency guide for Riverside',
  'This guide covers what to do during floods, storms and long power cuts in our neighbourhood.',
  '## Shelters',
  'The community shelter is the school gym on Mill Street. It opens when the river warning siren sounds. ' +
    'Bring blankets and any medicine you need for three days.',
  '## Drinking water',
  'If the tap water is brown or the boil notice is on, boil water at a rolling boil for one minute before drinking. ' +
    'Purification tablets are stored at the fire station on Elm Road; one tablet treats one litre.',
  '## Generators',
  'Never run a generator indoors or in a garage: carbon monoxide kills. Keep it at least six metres from windows.',
  ...Array.from(
    { length: 12 },
    (_, i) =>
      `## Appendix ${i + 1}\nRoutine checklist item ${i + 1}: check the noticeboard, the radio batteries and the stock list.`,
  ),
].join('\n\n');
