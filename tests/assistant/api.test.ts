/**
 * POST /api/assistant/ask and GET /api/assistant/providers end to end: the
 * real server on real Postgres, the real groq-sdk and ollama clients talking
 * to local fake servers. Several servers share one database (like cloud
 * instances), each with its own providers and breakers.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_MODEL_LABEL, NOTHING_FOUND, SYSTEM_PROMPT } from '../../backend/src/assistant/prompt';
import { QUESTIONS_PER_WINDOW } from '../../backend/src/assistant/routes';
import type { RunningServer } from '../../backend/src/server';
import { closedPort, startFakeGroq, startFakeOllama, type FakeServer } from './fakes/servers';
import { answerText, createTestDatabase, Member, startTestServer, WATER_GUIDE, type TestDatabase } from './helpers';

const TIMEOUT_MS = 400;
/** Generous: a loaded 2-core machine, a database round trip, process scheduling. */
const MARGIN_MS = 1500;
const QUESTION = 'How long should I boil drinking water?';

let database: TestDatabase;
let seed: RunningServer;
let member: Member;
let guideId: string;
const servers: RunningServer[] = [];
const fakes: FakeServer[] = [];

async function serverWith(env: Record<string, string | undefined>, log?: pino.Logger): Promise<Member> {
  const server = await startTestServer({ DATABASE_URL: database.url, LLM_TIMEOUT_MS: String(TIMEOUT_MS), ...env }, log);
  servers.push(server);
  // A fresh volunteer per server: the per-member question limit is shared by every instance.
  const email = `volunteer-${servers.length}@example.org`;
  const created = await member.request('POST', '/api/users', {
    email,
    password: 'correct horse battery',
    displayName: `Volunteer ${servers.length}`,
    role: 'volunteer',
  });
  expect(created.status).toBe(201);
  return Member.login(server.url, email, 'correct horse battery');
}

async function fakeGroq(behaviour = {}) {
  const fake = await startFakeGroq(behaviour);
  fakes.push(fake);
  return fake;
}
async function fakeOllama(behaviour = {}) {
  const fake = await startFakeOllama(behaviour);
  fakes.push(fake);
  return fake;
}
const groqEnv = (url: string) => ({ GROQ_API_KEY: 'gsk_test_key', GROQ_BASE_URL: url, GROQ_MODEL: 'fake-llama' });
const ollamaEnv = (url: string) => ({ OLLAMA_URL: url, OLLAMA_MODEL: 'llama3.2:1b' });

async function providers(asker: Member) {
  const res = await asker.request('GET', '/api/assistant/providers');
  expect(res.status).toBe(200);
  const body = (await res.json()) as { providers: { name: string; state: string; lastError: string | null }[] };
  return Object.fromEntries(body.providers.map((p) => [p.name, p]));
}

async function metricsText(asker: Member) {
  return (await asker.request('GET', '/metrics')).text();
}

beforeAll(async () => {
  database = await createTestDatabase();
  seed = await startTestServer({ DATABASE_URL: database.url });
  member = await Member.setup(seed.url);
  guideId = await member.write('document', { title: 'Emergency guide', body: WATER_GUIDE, tags: ['guide'] });
  await member.write('update', { kind: 'status', title: 'Boil notice in force', body: 'Boil water until Friday.' });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(100)));
  await Promise.all(fakes.map((fake) => fake.close()));
  await seed?.close();
  await database?.drop();
});

describe('when Groq answers', () => {
  let groq: FakeServer;
  let ollama: FakeServer;
  let asker: Member;

  beforeAll(async () => {
    groq = await fakeGroq();
    ollama = await fakeOllama();
    asker = await serverWith({ ...groqEnv(groq.url), ...ollamaEnv(ollama.url) });
  });

  it('then SSE streams meta, tokens and done, naming Groq and the cited sources', async () => {
    const { status, contentType, events } = await asker.askStream(QUESTION);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(events.map((e) => e.event)).toEqual(['meta', 'token', 'token', 'token', 'token', 'token', 'token', 'done']);
    const meta = events[0]!.data as { provider: string; sources: Record<string, unknown>[] };
    expect(meta.provider).toBe('groq');
    expect(meta.sources[0]).toMatchObject({
      n: 1,
      entityType: 'document',
      entityId: guideId,
      heading: 'Drinking water',
    });
    expect(meta.sources[0]!.snippet).toEqual(expect.stringContaining('<mark>'));
    expect(answerText(events)).toBe('Boil water for one minute [1].');
    expect(events.at(-1)!.data).toMatchObject({ provider: 'groq', ms: expect.any(Number) });
    expect(ollama.chatCalls).toBe(0);
  });

  it('then JSON returns the whole answer with provider and sources', async () => {
    const { status, body } = await asker.askJson(QUESTION);
    expect(status).toBe(200);
    expect(body).toMatchObject({ answer: 'Boil water for one minute [1].', provider: 'groq' });
    expect((body.sources as unknown[]).length).toBeGreaterThan(0);
  });

  it('then the prompt holds the system rules, the numbered retrieved passages and the question', async () => {
    const sent = groq.requests.at(-1)!;
    expect(sent).toMatchObject({ model: 'fake-llama', stream: true });
    expect(sent.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    const user = sent.messages[1]!.content;
    expect(user).toContain('[1] (document) Emergency guide — Drinking water');
    expect(user).toContain('boil water at a rolling boil for one minute');
    expect(user).toMatch(/\[\d\] \(update, status, open, last changed \d{4}-\d\d-\d\d\) Boil notice in force/);
    expect(user.trim().endsWith(`Question: ${QUESTION}`)).toBe(true);
    // The section that does not answer stays out of the prompt.
    expect(user).not.toContain('Appendix 12');
  });

  it('then every provider reports up, extractive included', async () => {
    const states = await providers(asker);
    expect(states.groq).toMatchObject({ state: 'up', lastError: null });
    expect(states.ollama).toMatchObject({ state: 'up' });
    expect(states.extractive).toMatchObject({ state: 'up' });
  });

  it('then answers per provider and latency are in the metrics', async () => {
    const text = await metricsText(asker);
    expect(text).toMatch(/lifeline_assistant_answers_total\{provider="groq",outcome="complete"\} [1-9]/);
    expect(text).toMatch(/lifeline_assistant_answer_duration_seconds_count\{provider="groq"\} [1-9]/);
    expect(text).toMatch(/lifeline_assistant_first_token_seconds_count\{provider="groq"\} [1-9]/);
  });

  it('then a question nothing matches is answered at once without calling any model', async () => {
    const calls = groq.chatCalls;
    const { body } = await asker.askJson('xylophone quartet rehearsal');
    expect(body).toEqual({ answer: NOTHING_FOUND, provider: 'extractive', sources: [] });
    expect(groq.chatCalls).toBe(calls);
  });
});

describe('when Groq is unreachable (closed port)', () => {
  let ollama: FakeServer;
  let asker: Member;

  beforeAll(async () => {
    ollama = await fakeOllama();
    asker = await serverWith({ ...groqEnv(`http://127.0.0.1:${await closedPort()}`), ...ollamaEnv(ollama.url) });
  });

  it('then Ollama answers, within the timeout plus a margin', async () => {
    const { events } = await asker.askStream(QUESTION);
    expect(events[0]).toMatchObject({ event: 'meta', data: { provider: 'ollama' } });
    expect(events[0]!.at).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(answerText(events)).toBe('Boil water for one minute [1].');
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { provider: 'ollama' } });
    expect(ollama.requests.at(-1)!.messages[1]!.content).toContain(`Question: ${QUESTION}`);
  });

  it('then the breaker skips Groq for the next question and the fallback is counted', async () => {
    const { body } = await asker.askJson(QUESTION);
    expect(body.provider).toBe('ollama');
    const text = await metricsText(asker);
    expect(text).toMatch(/lifeline_assistant_fallbacks_total\{provider="groq",reason="error"\} 1/);
    expect(text).toMatch(/lifeline_assistant_fallbacks_total\{provider="groq",reason="breaker_open"\} 1/);
    const states = await providers(asker);
    expect(states.groq).toMatchObject({ state: 'down', lastError: 'could not connect' });
    expect(states.ollama).toMatchObject({ state: 'up' });
  });
});

describe('when Groq accepts the request but never answers', () => {
  it('then Ollama answers within the timeout plus a margin', async () => {
    const groq = await fakeGroq({ mode: 'hang' });
    const ollama = await fakeOllama();
    const asker = await serverWith({ ...groqEnv(groq.url), ...ollamaEnv(ollama.url) });
    const { events } = await asker.askStream(QUESTION);
    expect(groq.chatCalls).toBe(1);
    expect(events[0]).toMatchObject({ event: 'meta', data: { provider: 'ollama' } });
    expect(events[0]!.at).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(events[0]!.at).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect((await providers(asker)).groq).toMatchObject({
      state: 'down',
      lastError: `no first token within ${TIMEOUT_MS} ms`,
    });
  });
});

describe('when neither model is reachable', () => {
  it('then the extractive answer gives the best passages, labelled, with sources', async () => {
    const asker = await serverWith({
      ...groqEnv(`http://127.0.0.1:${await closedPort()}`),
      ...ollamaEnv(`http://127.0.0.1:${await closedPort()}`),
    });
    const { events } = await asker.askStream(QUESTION);
    expect(events.map((e) => e.event)).toEqual(['meta', 'token', 'done']);
    const meta = events[0]!.data as { provider: string; sources: { n: number; entityId: string }[] };
    expect(meta.provider).toBe('extractive');
    expect(meta.sources[0]).toMatchObject({ n: 1, entityId: guideId });
    const text = answerText(events);
    expect(text.startsWith(NO_MODEL_LABEL)).toBe(true);
    expect(text).toMatch(/\[1\] Emergency guide — Drinking water: .*boil/i);
    expect(text).not.toContain('\u0002');
    expect(text).not.toContain('\u0003');
    expect(text).not.toContain('<mark>');
    const states = await providers(asker);
    expect([states.groq?.state, states.ollama?.state, states.extractive?.state]).toEqual(['down', 'down', 'up']);
  });

  it('then with no model configured at all, providers say unconfigured and the answer is extractive', async () => {
    const asker = await serverWith({});
    expect((await asker.askJson(QUESTION)).body).toMatchObject({ provider: 'extractive' });
    const states = await providers(asker);
    expect([states.groq?.state, states.ollama?.state]).toEqual(['unconfigured', 'unconfigured']);
  });
});

describe('when Groq stalls mid-stream', () => {
  it('then the live answer ends with an error event, the breaker opens and the next question skips Groq', async () => {
    const groq = await fakeGroq({ mode: 'stall', stallAfter: 2 });
    const ollama = await fakeOllama();
    const asker = await serverWith({ ...groqEnv(groq.url), ...ollamaEnv(ollama.url) });

    const first = await asker.askStream(QUESTION);
    expect(first.events.map((e) => e.event)).toEqual(['meta', 'token', 'token', 'error']);
    expect(first.events[0]!.data).toMatchObject({ provider: 'groq' });
    expect(first.events[3]!.data).toMatchObject({
      code: 'provider_failed',
      message: expect.stringMatching(/groq.*stalled.*incomplete/is),
    });
    expect(ollama.chatCalls).toBe(0);

    const second = await asker.askStream(QUESTION);
    expect(second.events[0]!.data).toMatchObject({ provider: 'ollama' });
    expect(second.events.at(-1)!.event).toBe('done');
    expect(groq.chatCalls).toBe(1);
    expect((await providers(asker)).groq).toMatchObject({ state: 'down', lastError: expect.stringMatching(/stalled/) });
    expect(await metricsText(asker)).toMatch(/lifeline_assistant_answers_total\{provider="groq",outcome="failed"\} 1/);
  });

  it('then a JSON answer, which nobody has seen yet, is given whole by the next provider', async () => {
    const groq = await fakeGroq({ mode: 'stall', stallAfter: 2 });
    const ollama = await fakeOllama({ tokens: ['From ', 'Ollama [1].'] });
    const asker = await serverWith({ ...groqEnv(groq.url), ...ollamaEnv(ollama.url) });
    const { status, body } = await asker.askJson(QUESTION);
    expect(status).toBe(200);
    expect(body).toMatchObject({ provider: 'ollama', answer: 'From Ollama [1].' });
    expect(groq.chatCalls).toBe(1);
  });
});

describe('when LLM_PROVIDER_ORDER puts Ollama first (a hub)', () => {
  it('then Ollama answers and Groq is not called', async () => {
    const groq = await fakeGroq();
    const ollama = await fakeOllama();
    const asker = await serverWith({
      ...groqEnv(groq.url),
      ...ollamaEnv(ollama.url),
      LLM_PROVIDER_ORDER: 'ollama,groq',
    });
    expect((await asker.askJson(QUESTION)).body).toMatchObject({ provider: 'ollama' });
    expect(groq.chatCalls).toBe(0);
    expect((await providers(asker)) && Object.keys(await providers(asker))).toEqual(['ollama', 'groq', 'extractive']);
  });
});

describe('when the asker leaves mid-answer', () => {
  it('then the provider request is cancelled and not held against the provider', async () => {
    const groq = await fakeGroq({ tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), tokenDelayMs: 100 });
    const asker = await serverWith(groqEnv(groq.url));
    const controller = new AbortController();
    const res = await fetch(`${asker.baseUrl}/api/assistant/ask`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        cookie: asker.cookieHeader,
      },
      body: JSON.stringify({ question: QUESTION }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => groq.aborted).toBe(1);
    expect((await providers(asker)).groq).toMatchObject({ state: 'up', lastError: null });
    groq.set({ tokenDelayMs: 0, tokens: ['Again [1].'] });
    expect((await asker.askJson(QUESTION)).body).toMatchObject({ provider: 'groq', answer: 'Again [1].' });
  });
});

describe('requests', () => {
  let asker: Member;
  let logged: string;

  beforeAll(async () => {
    logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged += chunk.toString('utf8');
        callback();
      },
    });
    asker = await serverWith({}, pino({ level: 'info' }, sink));
  });

  it.each([
    ['an empty question', { question: '' }],
    ['a blank question', { question: '   \n ' }],
    ['a question over 2000 characters', { question: 'x'.repeat(2001) }],
    ['no question', {}],
    ['a question that is not text', { question: 42 }],
  ])('when the body has %s, then 400 in the contract shape', async (_what, body) => {
    const res = await asker.request('POST', '/api/assistant/ask', body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
  });

  it('when the question has 2000 characters after trimming, then it is accepted', async () => {
    const res = await asker.request('POST', '/api/assistant/ask', { question: `  ${'water '.repeat(333)}xx  ` });
    expect(res.status).toBe(200);
  });

  it('when nobody is signed in, then 401', async () => {
    const res = await fetch(`${asker.baseUrl}/api/assistant/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question: QUESTION }),
    });
    expect(res.status).toBe(401);
    expect((await fetch(`${asker.baseUrl}/api/assistant/providers`)).status).toBe(401);
  });

  it('when a question is answered, then the log has its length and provider but not its text', async () => {
    const secret = 'Where does Mrs Jones at 12 Mill Street get insulin water?';
    await asker.askJson(secret);
    const line = logged
      .split('\n')
      .filter((entry) => entry.includes('assistant answered'))
      .at(-1);
    expect(JSON.parse(line!)).toMatchObject({ questionLength: secret.length, provider: 'extractive' });
    expect(logged).not.toContain('Mrs Jones');
    expect(logged).not.toContain('insulin');
  });

  it('when a member asks too often, then 429 in the contract shape', async () => {
    const other = await serverWith({});
    let status = 200;
    let body: unknown;
    for (let i = 0; i <= QUESTIONS_PER_WINDOW && status === 200; i += 1) {
      ({ status, body } = await other.askJson(`water question ${i}`));
    }
    expect(status).toBe(429);
    expect(body).toEqual({ error: { code: 'too_many_questions', message: expect.any(String) } });
  });
});
