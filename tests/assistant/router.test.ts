/** The provider chain's rules, with in-process providers (the HTTP-level cases are in api.test.ts). */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { assistantMetrics } from '../../backend/src/assistant/metrics';
import type { ModelProvider } from '../../backend/src/assistant/providers';
import { ProviderRouter } from '../../backend/src/assistant/router';
import type { AnswerEvent, ModelProviderName } from '../../backend/src/assistant/types';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function provider(name: ModelProviderName, tokens: string[], delayMs = 0): ModelProvider & { calls: number } {
  const fake = {
    name,
    model: 'test',
    calls: 0,
    async *stream(_messages: unknown, signal: AbortSignal) {
      fake.calls += 1;
      for (const token of tokens) {
        if (delayMs) await sleep(delayMs);
        if (signal.aborted) throw new Error('aborted');
        yield token;
      }
    },
    check: async () => undefined,
  };
  return fake;
}

function chain(providers: ModelProvider[], maxAnswerMs = 10_000) {
  return new ProviderRouter({
    providers,
    firstTokenTimeoutMs: 200,
    idleTimeoutMs: 200,
    maxAnswerMs,
    cooldownMs: 60_000,
    checkTtlMs: 0,
    metrics: assistantMetrics(new Registry()),
    log: pino({ level: 'silent' }),
  });
}

async function collect(router: ProviderRouter, live: boolean, signal = new AbortController().signal) {
  const events: AnswerEvent[] = [];
  for await (const event of router.answer({
    messages: [],
    sources: [],
    extractive: 'passages',
    live,
    signal,
    startedAt: performance.now(),
  })) {
    events.push(event);
  }
  return events;
}

describe('provider router', () => {
  it('when a provider returns an empty answer, then the next one answers', async () => {
    const empty = provider('groq', []);
    const router = chain([empty, provider('ollama', ['ok'])]);
    const events = await collect(router, true);
    expect(events.map((e) => e.type)).toEqual(['meta', 'token', 'done']);
    expect(events[0]).toMatchObject({ provider: 'ollama' });
    expect((await router.status())[0]).toMatchObject({ name: 'groq', state: 'down' });
  });

  it('when an answer runs past the longest allowed, then it ends with an error', async () => {
    const router = chain([provider('groq', ['a', 'b', 'c', 'd', 'e', 'f'], 50)], 120);
    const events = await collect(router, true);
    expect(events[0]).toMatchObject({ type: 'meta', provider: 'groq' });
    expect(events.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/longer than 120 ms/) });
  });

  it('when every provider fails, then the extractive answer comes last and whole', async () => {
    const events = await collect(chain([provider('groq', []), provider('ollama', [])]), false);
    expect(events).toEqual([
      { type: 'meta', provider: 'extractive', sources: [] },
      { type: 'token', text: 'passages' },
      { type: 'done', provider: 'extractive', ms: expect.any(Number) },
    ]);
  });

  it('when the asker leaves before the first token, then nothing more is said and the provider stays up', async () => {
    const slow = provider('groq', ['late'], 100);
    const router = chain([slow]);
    const asker = new AbortController();
    setTimeout(() => asker.abort(), 20);
    expect(await collect(router, true, asker.signal)).toEqual([]);
    expect((await router.status())[0]).toMatchObject({ name: 'groq', state: 'up' });
  });
});
