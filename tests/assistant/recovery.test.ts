/**
 * Breaker recovery, at the service level so the cooldown can be short: a
 * provider that failed is skipped, probed again after the cooldown, and used
 * again once it answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Assistant } from '../../backend/src/assistant/service';
import type { AnswerEvent } from '../../backend/src/assistant/types';
import type { RunningServer } from '../../backend/src/server';
import { startFakeGroq, startFakeOllama, type FakeServer } from './fakes/servers';
import { createTestDatabase, Member, startTestServer, WATER_GUIDE, type TestDatabase } from './helpers';

const COOLDOWN_MS = 300;

let database: TestDatabase;
let server: RunningServer;
let communityId: string;
let groq: FakeServer;
let ollama: FakeServer;
let assistant: Assistant;

async function ask(question = 'boil drinking water'): Promise<AnswerEvent[]> {
  const events: AnswerEvent[] = [];
  for await (const event of assistant.ask({
    communityId,
    question,
    live: true,
    signal: new AbortController().signal,
  })) {
    events.push(event);
  }
  return events;
}
const providerOf = (events: AnswerEvent[]) => events.find((event) => event.type === 'meta')?.provider;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer({ DATABASE_URL: database.url });
  const member = await Member.setup(server.url);
  communityId = await member.communityId();
  await member.write('document', { title: 'Emergency guide', body: WATER_GUIDE });
  groq = await startFakeGroq({ mode: 'error' });
  ollama = await startFakeOllama();
  const config = {
    ...server.ctx.config,
    groq: { apiKey: 'gsk_test', baseUrl: groq.url, model: 'fake-llama' },
    ollama: { url: ollama.url, model: 'llama3.2:1b' },
    llmTimeoutMs: 400,
  };
  assistant = new Assistant({ ...server.ctx, config }, { cooldownMs: COOLDOWN_MS, checkTtlMs: 0 });
});

afterAll(async () => {
  await groq?.close();
  await ollama?.close();
  await server?.close();
  await database?.drop();
});

describe('breaker recovery', () => {
  it('when Groq fails, comes back and the cooldown passes, then one probe closes the breaker again', async () => {
    expect(providerOf(await ask())).toBe('ollama');
    expect(groq.chatCalls).toBe(1);
    expect(providerOf(await ask())).toBe('ollama');
    expect(groq.chatCalls).toBe(1);

    groq.set({ mode: 'ok' });
    // Within the cooldown the breaker still skips Groq, although it is back.
    expect(providerOf(await ask())).toBe('ollama');
    expect(groq.chatCalls).toBe(1);

    await sleep(COOLDOWN_MS + 50);
    expect(providerOf(await ask())).toBe('groq');
    expect(groq.chatCalls).toBe(2);
    expect(providerOf(await ask())).toBe('groq');
    const groqStatus = (await assistant.providers()).find((status) => status.name === 'groq');
    expect(groqStatus).toMatchObject({ state: 'up', lastError: null, latencyMs: expect.any(Number) });
  });

  it('when the probe fails, then the breaker opens for another full cooldown', async () => {
    groq.set({ mode: 'error' });
    expect(providerOf(await ask())).toBe('ollama');
    const calls = groq.chatCalls;
    await sleep(COOLDOWN_MS + 50);
    expect(providerOf(await ask())).toBe('ollama');
    expect(groq.chatCalls).toBe(calls + 1);
    expect(providerOf(await ask())).toBe('ollama');
    expect(groq.chatCalls).toBe(calls + 1);
    expect((await assistant.providers()).find((status) => status.name === 'groq')).toMatchObject({
      state: 'down',
      lastError: 'HTTP 500',
    });
  });

  it('when a health check finds the Ollama model missing, then Ollama is reported down with the reason', async () => {
    const bare = await startFakeOllama({}, ['some-other-model:latest']);
    try {
      const config = { ...server.ctx.config, groq: undefined, ollama: { url: bare.url, model: 'llama3.2:1b' } };
      const checker = new Assistant({ ...server.ctx, config }, { checkTtlMs: 0 });
      expect((await checker.providers()).find((status) => status.name === 'ollama')).toMatchObject({
        state: 'down',
        lastError: 'model llama3.2:1b is not pulled on this Ollama',
      });
    } finally {
      await bare.close();
    }
  });
});
