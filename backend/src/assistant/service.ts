/**
 * The assistant: retrieve the community's best passages, then let the
 * provider chain answer from them. Built once per server from its context.
 */
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { Database } from '../db/database';
import type { Metrics } from '../metrics';
import { catchUpIndex } from './indexer';
import { assistantMetrics, type AssistantMetrics } from './metrics';
import { buildMessages, extractiveAnswer, toSources } from './prompt';
import { groqProvider, ollamaProvider, type ModelProvider } from './providers';
import { searchPassages } from './retrieval';
import { ProviderRouter } from './router';
import type { AnswerEvent, ModelProviderName, ProviderStatus } from './types';
import { MODEL_PROVIDERS } from './types';

export interface AssistantOptions {
  /** Replaces the providers built from the configuration (tests, benchmarks). */
  providers?: ModelProvider[];
  cooldownMs?: number;
  idleTimeoutMs?: number;
  maxAnswerMs?: number;
  checkTtlMs?: number;
  passageLimit?: number;
}

export const DEFAULT_COOLDOWN_MS = 30_000;
export const DEFAULT_MAX_ANSWER_MS = 120_000;
export const DEFAULT_CHECK_TTL_MS = 15_000;

export interface AssistantContext {
  config: Config;
  db: Database;
  metrics: Metrics;
  log: Logger;
}

export interface Question {
  communityId: string;
  question: string;
  live: boolean;
  signal: AbortSignal;
}

/** Providers in the configured order: LLM_PROVIDER_ORDER's first, the rest as groq, ollama. */
export function providerOrder(config: Pick<Config, 'llmProviderOrder'>): ModelProviderName[] {
  const listed = config.llmProviderOrder ?? [];
  return [...listed, ...MODEL_PROVIDERS.filter((name) => !listed.includes(name))];
}

export function configuredProviders(config: Config): ModelProvider[] {
  const providers: ModelProvider[] = [];
  for (const name of providerOrder(config)) {
    if (name === 'groq' && config.groq) providers.push(groqProvider(config.groq, config.llmTimeoutMs));
    if (name === 'ollama' && config.ollama) providers.push(ollamaProvider(config.ollama));
  }
  return providers;
}

export class Assistant {
  readonly router: ProviderRouter;
  private readonly metrics: AssistantMetrics;

  constructor(
    private readonly ctx: AssistantContext,
    private readonly options: AssistantOptions = {},
  ) {
    this.metrics = assistantMetrics(ctx.metrics.registry);
    this.router = new ProviderRouter({
      providers: options.providers ?? configuredProviders(ctx.config),
      firstTokenTimeoutMs: ctx.config.llmTimeoutMs,
      // Between tokens a healthy model is far quicker than to its first token.
      idleTimeoutMs: options.idleTimeoutMs ?? ctx.config.llmTimeoutMs,
      maxAnswerMs: options.maxAnswerMs ?? DEFAULT_MAX_ANSWER_MS,
      cooldownMs: options.cooldownMs ?? DEFAULT_COOLDOWN_MS,
      checkTtlMs: options.checkTtlMs ?? DEFAULT_CHECK_TTL_MS,
      metrics: this.metrics,
      log: ctx.log,
    });
  }

  /**
   * The answer's events, in order. Nothing of the question is logged: only
   * its length, the passages found, the provider and the time taken.
   */
  async *ask(input: Question): AsyncGenerator<AnswerEvent, void, undefined> {
    const startedAt = performance.now();
    const stopRetrieval = this.metrics.retrievalSeconds.startTimer();
    await catchUpIndex(this.ctx.db);
    const passages = await searchPassages(this.ctx.db, input.communityId, input.question, this.options.passageLimit);
    stopRetrieval();
    const sources = toSources(passages);
    let provider = 'none';
    let outcome = 'aborted';
    try {
      if (passages.length === 0) {
        // Nothing to answer from: a model would only guess. Say so at once, without a model.
        const ms = Math.round(performance.now() - startedAt);
        this.metrics.answers.inc({ provider: 'extractive', outcome: 'complete' });
        this.metrics.answerSeconds.observe({ provider: 'extractive' }, ms / 1000);
        provider = 'extractive';
        outcome = 'nothing_found';
        yield { type: 'meta', provider: 'extractive', sources };
        yield { type: 'token', text: extractiveAnswer(passages) };
        yield { type: 'done', provider: 'extractive', ms };
        return;
      }
      for await (const event of this.router.answer({
        messages: buildMessages(input.question, passages),
        sources,
        extractive: extractiveAnswer(passages),
        live: input.live,
        signal: input.signal,
        startedAt,
      })) {
        if (event.type === 'meta') provider = event.provider;
        if (event.type === 'done') outcome = 'complete';
        if (event.type === 'error') outcome = 'failed';
        yield event;
      }
    } finally {
      this.ctx.log.info(
        {
          assistant: true,
          questionLength: input.question.length,
          passages: passages.length,
          provider,
          outcome,
          ms: Math.round(performance.now() - startedAt),
        },
        'assistant answered',
      );
    }
  }

  providers(): Promise<ProviderStatus[]> {
    return this.router.status();
  }
}
