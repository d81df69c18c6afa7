/**
 * Assistant router benchmark (prints figures, asserts nothing):
 *   npx tsx scripts/bench-assistant.ts
 *
 * 1. Failover latency — Groq unreachable → first Ollama token — with the
 *    breaker closed (every question tries Groq first) and open (Groq skipped),
 *    for a refused connection and for a black-holed one (bounded by LLM_TIMEOUT_MS).
 * 2. Router overhead per answer against a direct groq-sdk call to the same
 *    fake server streaming the same tokens.
 * The providers are the real groq-sdk and ollama clients against local fakes.
 */
import Groq from 'groq-sdk';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { assistantMetrics } from '../backend/src/assistant/metrics';
import { groqProvider, ollamaProvider } from '../backend/src/assistant/providers';
import { ProviderRouter } from '../backend/src/assistant/router';
import type { ChatMessage } from '../backend/src/assistant/types';
import { closedPort, startFakeGroq, startFakeOllama } from '../tests/assistant/fakes/servers';

const TIMEOUT_MS = 1000;
const FAILOVER_RUNS = 40;
const OVERHEAD_RUNS = 300;
const TOKENS = Array.from({ length: 50 }, (_, i) => `word${i} `);
const messages: ChatMessage[] = [
  { role: 'system', content: 'Answer only from the passages.' },
  { role: 'user', content: 'Passages:\n\n[1] Guide — Water\nBoil water for one minute.\n\nQuestion: how long?' },
];
const metrics = assistantMetrics(new Registry());
const log = pino({ level: 'silent' });

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return `median ${at(0.5).toFixed(2)} ms  p95 ${at(0.95).toFixed(2)} ms  mean ${mean.toFixed(2)} ms  (n=${sorted.length})`;
}

function router(groqUrl: string, ollamaUrl: string) {
  return new ProviderRouter({
    providers: [
      groqProvider({ apiKey: 'gsk_bench', baseUrl: groqUrl, model: 'fake' }, TIMEOUT_MS),
      ollamaProvider({ url: ollamaUrl, model: 'llama3.2:1b' }),
    ],
    firstTokenTimeoutMs: TIMEOUT_MS,
    idleTimeoutMs: TIMEOUT_MS,
    maxAnswerMs: 60_000,
    cooldownMs: 3_600_000,
    checkTtlMs: 15_000,
    metrics,
    log,
  });
}

/** ms from the question to the first token, and who gave it. */
async function timeToFirstToken(chain: ProviderRouter): Promise<{ ms: number; provider: string }> {
  const started = performance.now();
  let ms = NaN;
  let provider = '';
  for await (const event of chain.answer({
    messages,
    sources: [],
    extractive: 'no model',
    live: true,
    signal: new AbortController().signal,
    startedAt: started,
  })) {
    if (event.type === 'meta') provider = event.provider;
    if (event.type === 'token' && Number.isNaN(ms)) ms = performance.now() - started;
  }
  return { ms, provider };
}

async function failover(label: string, groqUrl: string, ollamaUrl: string, runs: number): Promise<void> {
  const closed: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const result = await timeToFirstToken(router(groqUrl, ollamaUrl));
    if (result.provider !== 'ollama') throw new Error(`expected ollama, got ${result.provider}`);
    closed.push(result.ms);
  }
  const chain = router(groqUrl, ollamaUrl);
  await timeToFirstToken(chain); // opens Groq's breaker
  const open: number[] = [];
  for (let i = 0; i < runs; i += 1) open.push((await timeToFirstToken(chain)).ms);
  console.log(`  ${label}`);
  console.log(`    breaker closed: ${summary(closed)}`);
  console.log(`    breaker open:   ${summary(open)}`);
}

async function main(): Promise<void> {
  const ollama = await startFakeOllama({ tokens: TOKENS });
  const hanging = await startFakeGroq({ mode: 'hang' });
  const groq = await startFakeGroq({ tokens: TOKENS });
  try {
    console.log(`Assistant router benchmark — LLM_TIMEOUT_MS=${TIMEOUT_MS}, Node ${process.version}`);
    console.log('\n1. Failover: Groq unreachable → first Ollama token');
    const direct: number[] = [];
    const ollamaOnly = new ProviderRouter({
      ...{ firstTokenTimeoutMs: TIMEOUT_MS, idleTimeoutMs: TIMEOUT_MS, maxAnswerMs: 60_000 },
      ...{ cooldownMs: 1, checkTtlMs: 1, metrics, log },
      providers: [ollamaProvider({ url: ollama.url, model: 'llama3.2:1b' })],
    });
    for (let i = 0; i < 20; i += 1) await timeToFirstToken(ollamaOnly); // warm up clients and sockets
    for (let i = 0; i < FAILOVER_RUNS; i += 1) direct.push((await timeToFirstToken(ollamaOnly)).ms);
    console.log(`  baseline, Ollama alone:            ${summary(direct)}`);
    await failover(
      'Groq port closed (connection refused):',
      `http://127.0.0.1:${await closedPort()}`,
      ollama.url,
      FAILOVER_RUNS,
    );
    await failover(
      `Groq black-holed (accepts, never answers; bounded by ${TIMEOUT_MS} ms):`,
      hanging.url,
      ollama.url,
      5,
    );

    console.log(`\n2. Router overhead per answer (${TOKENS.length} tokens, fake Groq, streaming)`);
    const client = new Groq({ apiKey: 'gsk_bench', baseURL: groq.url, timeout: TIMEOUT_MS, maxRetries: 0 });
    const directCall = async () => {
      const started = performance.now();
      const stream = await client.chat.completions.create({ model: 'fake', messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      if (!text) throw new Error('empty');
      return performance.now() - started;
    };
    const chain = router(groq.url, ollama.url);
    const routed = async () => {
      const started = performance.now();
      let text = '';
      for await (const event of chain.answer({
        messages,
        sources: [],
        extractive: '',
        live: true,
        signal: new AbortController().signal,
        startedAt: started,
      })) {
        if (event.type === 'token') text += event.text;
      }
      if (!text) throw new Error('empty');
      return performance.now() - started;
    };
    for (let i = 0; i < 30; i += 1) {
      await directCall();
      await routed();
    }
    const directTimes: number[] = [];
    const routedTimes: number[] = [];
    // Interleaved so drift (GC, CPU frequency) hits both alike.
    for (let i = 0; i < OVERHEAD_RUNS; i += 1) {
      directTimes.push(await directCall());
      routedTimes.push(await routed());
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`  direct groq-sdk call: ${summary(directTimes)}`);
    console.log(`  through the router:   ${summary(routedTimes)}`);
    const overhead = median(routedTimes) - median(directTimes);
    console.log(
      `  overhead: ${overhead.toFixed(2)} ms per answer (median), ${((overhead / TOKENS.length) * 1000).toFixed(1)} µs per token`,
    );
  } finally {
    await Promise.all([ollama.close(), hanging.close(), groq.close()]);
  }
}

await main();
