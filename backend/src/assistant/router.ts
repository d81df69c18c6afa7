/**
 * The provider chain: each configured model provider in order, skipping any
 * whose breaker is open, then the extractive answer, which cannot fail.
 *
 * Contract of one answer:
 * - Before its first token a provider may fail (refused, timed out, HTTP
 *   error, empty): the breaker opens and the next provider is tried.
 * - Live (SSE): `meta` goes out with the first token, and from then on this
 *   provider owns the answer. A failure after that (stall, cut stream) ends
 *   it with an `error` event: models are never switched mid-answer.
 * - Buffered (JSON): nothing reaches the asker before the end, so a
 *   mid-stream failure discards the partial text and the next provider
 *   answers whole. Either way the failure counts against the provider.
 * - The asker leaving (signal aborted) cancels the request and says nothing
 *   about the provider.
 */
import type { Logger } from 'pino';
import { CircuitBreaker } from './breaker';
import type { AssistantMetrics } from './metrics';
import { describeError, ProviderError, type ModelProvider } from './providers';
import type { AnswerEvent, ChatMessage, ModelProviderName, ProviderStatus, Source } from './types';
import { MODEL_PROVIDERS } from './types';

export interface RouterOptions {
  /** Configured providers, in the order to try them. */
  providers: ModelProvider[];
  /** Connect + first token, per provider (LLM_TIMEOUT_MS). */
  firstTokenTimeoutMs: number;
  /** Longest silence between two tokens once the answer has started. */
  idleTimeoutMs: number;
  /** Longest answer from one provider, start to end. */
  maxAnswerMs: number;
  /** How long a failed provider is skipped before one request probes it again. */
  cooldownMs: number;
  /** Health checks for the providers endpoint are reused for this long. */
  checkTtlMs: number;
  metrics: AssistantMetrics;
  log: Logger;
  now?: () => number;
}

export interface AnswerRequest {
  messages: ChatMessage[];
  sources: Source[];
  /** The answer to give when no model answers. */
  extractive: string;
  /** Stream tokens as they come (SSE) or deliver the answer whole (JSON). */
  live: boolean;
  /** Aborted when the asker goes away. */
  signal: AbortSignal;
  /** When the question arrived, for `done.ms`. */
  startedAt: number;
}

interface Entry {
  provider: ModelProvider;
  breaker: CircuitBreaker;
  lastError: string | null;
  latencyMs: number | null;
  check: { at: number; ok: boolean; running?: Promise<void> } | undefined;
}

type Attempt = 'answered' | 'ended' | 'aborted' | 'failed';

export class ProviderRouter {
  private readonly entries: Entry[];
  private readonly now: () => number;

  constructor(private readonly options: RouterOptions) {
    this.now = options.now ?? (() => performance.now());
    this.entries = options.providers.map((provider) => ({
      provider,
      breaker: new CircuitBreaker({ cooldownMs: options.cooldownMs, now: this.now }),
      lastError: null,
      latencyMs: null,
      check: undefined,
    }));
  }

  async *answer(request: AnswerRequest): AsyncGenerator<AnswerEvent, void, undefined> {
    const { metrics } = this.options;
    for (const entry of this.entries) {
      if (request.signal.aborted) return;
      if (!entry.breaker.tryAcquire()) {
        metrics.fallbacks.inc({ provider: entry.provider.name, reason: 'breaker_open' });
        continue;
      }
      const outcome = yield* this.attempt(entry, request);
      if (outcome !== 'failed') return;
    }
    if (request.signal.aborted) return;
    yield { type: 'meta', provider: 'extractive', sources: request.sources };
    yield { type: 'token', text: request.extractive };
    const ms = Math.round(this.now() - request.startedAt);
    metrics.answers.inc({ provider: 'extractive', outcome: 'complete' });
    metrics.answerSeconds.observe({ provider: 'extractive' }, ms / 1000);
    yield { type: 'done', provider: 'extractive', ms };
  }

  private async *attempt(entry: Entry, request: AnswerRequest): AsyncGenerator<AnswerEvent, Attempt, undefined> {
    const { metrics, log } = this.options;
    const name = entry.provider.name;
    const controller = new AbortController();
    const cancel = () => controller.abort();
    request.signal.addEventListener('abort', cancel);
    const tokens = entry.provider.stream(request.messages, controller.signal);
    const started = this.now();
    let committed = false;
    let received = 0;
    const buffered: string[] = [];
    try {
      for (;;) {
        const left = this.options.maxAnswerMs - (this.now() - started);
        const wait = received === 0 ? this.options.firstTokenTimeoutMs : this.options.idleTimeoutMs;
        const next = await nextWithin(
          tokens,
          controller,
          left < wait
            ? {
                ms: left,
                error: new ProviderError('timeout', `the answer took longer than ${this.options.maxAnswerMs} ms`),
              }
            : received === 0
              ? { ms: wait, error: new ProviderError('timeout', `no first token within ${wait} ms`) }
              : { ms: wait, error: new ProviderError('stalled', `the stream stalled for ${wait} ms mid-answer`) },
        );
        if (next.done) break;
        if (received === 0) {
          const latency = Math.round(this.now() - started);
          entry.latencyMs = latency;
          metrics.firstTokenSeconds.observe({ provider: name }, latency / 1000);
        }
        received += 1;
        if (request.live) {
          if (!committed) {
            committed = true;
            yield { type: 'meta', provider: name, sources: request.sources };
          }
          yield { type: 'token', text: next.value };
        } else {
          buffered.push(next.value);
        }
      }
      if (received === 0) throw new ProviderError('truncated', 'the model returned an empty answer');
      entry.breaker.success();
      entry.lastError = null;
      if (!entry.check?.running) entry.check = { at: this.now(), ok: true };
      if (!request.live) {
        yield { type: 'meta', provider: name, sources: request.sources };
        yield { type: 'token', text: buffered.join('') };
      }
      const ms = Math.round(this.now() - request.startedAt);
      metrics.answers.inc({ provider: name, outcome: 'complete' });
      metrics.answerSeconds.observe({ provider: name }, ms / 1000);
      yield { type: 'done', provider: name, ms };
      return 'answered';
    } catch (error) {
      if (request.signal.aborted) {
        entry.breaker.release();
        if (committed) metrics.answers.inc({ provider: name, outcome: 'aborted' });
        return 'aborted';
      }
      entry.breaker.failure();
      entry.lastError = describeError(error);
      const reason = error instanceof ProviderError ? error.code : 'error';
      log.warn(
        { provider: name, reason, error: entry.lastError, ms: Math.round(this.now() - started), committed },
        'assistant provider failed',
      );
      if (committed) {
        metrics.answers.inc({ provider: name, outcome: 'failed' });
        yield {
          type: 'error',
          code: 'provider_failed',
          message: `The ${name} model stopped answering (${entry.lastError}). This answer is incomplete; please ask again.`,
        };
        return 'ended';
      }
      metrics.fallbacks.inc({ provider: name, reason });
      return 'failed';
    } finally {
      request.signal.removeEventListener('abort', cancel);
      // Closes the HTTP request whatever happened; harmless after a clean end.
      controller.abort();
      tokens.return(undefined).catch(() => undefined);
    }
  }

  /** Each provider's state; configured providers are health-checked (results reused for `checkTtlMs`). */
  async status(): Promise<ProviderStatus[]> {
    await Promise.all(this.entries.map((entry) => this.check(entry)));
    const statuses: ProviderStatus[] = [];
    for (const name of this.orderedNames()) {
      const entry = this.entries.find((candidate) => candidate.provider.name === name);
      if (!entry) {
        statuses.push({ name, state: 'unconfigured', lastError: null, latencyMs: null });
        continue;
      }
      const up = entry.breaker.current === 'closed' && entry.check?.ok !== false;
      statuses.push({ name, state: up ? 'up' : 'down', lastError: entry.lastError, latencyMs: entry.latencyMs });
    }
    statuses.push({ name: 'extractive', state: 'up', lastError: null, latencyMs: null });
    return statuses;
  }

  /** Configured providers in their order, then the unconfigured ones. */
  private orderedNames(): ModelProviderName[] {
    const configured = this.entries.map((entry) => entry.provider.name);
    return [...configured, ...MODEL_PROVIDERS.filter((name) => !configured.includes(name))];
  }

  private async check(entry: Entry): Promise<void> {
    if (entry.check?.running) return entry.check.running;
    if (entry.check && this.now() - entry.check.at < this.options.checkTtlMs) return;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.firstTokenTimeoutMs);
    const started = this.now();
    const running = entry.provider
      .check(controller.signal)
      .then(
        () => {
          entry.check = { at: this.now(), ok: true };
          entry.latencyMs ??= Math.round(this.now() - started);
        },
        (error: unknown) => {
          entry.check = { at: this.now(), ok: false };
          entry.lastError = controller.signal.aborted ? 'health check timed out' : describeError(error);
          // A provider that cannot list its models will not answer either: spare the next asker the wait.
          if (entry.breaker.current === 'closed') entry.breaker.failure();
        },
      )
      .finally(() => clearTimeout(timer));
    entry.check = { at: entry.check?.at ?? 0, ok: entry.check?.ok ?? true, running };
    return running;
  }
}

/**
 * The iterator's next item within `ms`, or abort the request and throw. The
 * abandoned `next()` rejects once the request is aborted; that rejection is
 * expected and swallowed.
 */
async function nextWithin<T>(
  iterator: AsyncIterator<T>,
  controller: AbortController,
  deadline: { ms: number; error: ProviderError },
): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        reject(deadline.error);
        controller.abort();
      },
      Math.max(0, deadline.ms),
    );
  });
  const next = iterator.next();
  next.catch(() => undefined);
  try {
    return await Promise.race([next, expired]);
  } finally {
    clearTimeout(timer);
  }
}
