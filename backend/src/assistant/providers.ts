/**
 * The model providers, over their real client libraries (STACK.md, "LLM
 * client libraries"). Each yields the answer's text as it streams; the
 * router owns timeouts, the watchdog and failover, and cancels a request by
 * aborting the signal it passed in.
 */
import Groq from 'groq-sdk';
import { Ollama } from 'ollama';
import type { Config } from '../config';
import type { ChatMessage, ModelProviderName } from './types';

export interface ModelProvider {
  readonly name: ModelProviderName;
  readonly model: string;
  /** Text deltas of the answer. Aborting `signal` cancels the HTTP request. */
  stream(messages: ChatMessage[], signal: AbortSignal): AsyncGenerator<string, void, undefined>;
  /** A cheap reachability check (lists models); throws when the provider could not answer. */
  check(signal: AbortSignal): Promise<void>;
}

/** Enough for a practical answer; bounds how long a runaway generation can hold a request. */
const MAX_ANSWER_TOKENS = 800;
const TEMPERATURE = 0.2;

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly code: 'timeout' | 'stalled' | 'truncated' | 'error',
    message: string,
  ) {
    super(message);
  }
}

export function groqProvider(settings: NonNullable<Config['groq']>, timeoutMs: number): ModelProvider {
  // SDK defaults are a 60 s timeout and 2 retries with backoff: far too slow
  // for failover. Its timeout covers only the wait for response headers.
  const client = new Groq({
    apiKey: settings.apiKey,
    baseURL: settings.baseUrl,
    timeout: timeoutMs,
    maxRetries: 0,
  });
  return {
    name: 'groq',
    model: settings.model,
    async *stream(messages, signal) {
      const stream = await client.chat.completions.create(
        { model: settings.model, messages, stream: true, temperature: TEMPERATURE, max_tokens: MAX_ANSWER_TOKENS },
        { signal },
      );
      let finished = false;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta?.content) yield choice.delta.content;
        if (choice?.finish_reason) finished = true;
      }
      // A connection closed cleanly but early is still a cut answer.
      if (!finished) throw new ProviderError('truncated', 'the stream ended before the model finished');
    },
    async check(signal) {
      await client.models.list({ signal });
    },
  };
}

/**
 * ollama-js takes a bare `http://host` to mean port 80; an Ollama URL without
 * a port means Ollama's own 11434 (https without a port stays 443: a proxy).
 */
export function ollamaHost(url: string): string {
  const parsed = new URL(url);
  if (parsed.port === '' && parsed.protocol === 'http:') parsed.port = '11434';
  else if (parsed.port === '') parsed.port = '443';
  return `${parsed.protocol}//${parsed.username ? `${parsed.username}:${parsed.password}@` : ''}${parsed.hostname}:${parsed.port}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** ollama-js has no timeout option: every request it makes also listens to our signal. */
function fetchWithSignal(signal: AbortSignal): typeof fetch {
  return (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

export function ollamaProvider(settings: NonNullable<Config['ollama']>): ModelProvider {
  const host = ollamaHost(settings.url);
  return {
    name: 'ollama',
    model: settings.model,
    async *stream(messages, signal) {
      const client = new Ollama({ host, fetch: fetchWithSignal(signal) });
      // The iterator throws when the stream ends without its final `done: true` line.
      const parts = await client.chat({
        model: settings.model,
        messages,
        stream: true,
        options: { temperature: TEMPERATURE, num_predict: MAX_ANSWER_TOKENS },
      });
      for await (const part of parts) {
        if (part.message?.content) yield part.message.content;
      }
    },
    async check(signal) {
      const client = new Ollama({ host, fetch: fetchWithSignal(signal) });
      const { models } = await client.list();
      const wanted = settings.model.includes(':') ? settings.model : `${settings.model}:latest`;
      if (!models.some((model) => model.name === wanted || model.model === wanted)) {
        throw new ProviderError('error', `model ${settings.model} is not pulled on this Ollama`);
      }
    },
  };
}

/** A short reason for logs and the providers endpoint: no request content, no keys. */
export function describeError(error: unknown): string {
  if (error instanceof ProviderError) return error.message;
  if (error instanceof Groq.APIConnectionTimeoutError) return 'timed out waiting for the response';
  if (error instanceof Groq.APIConnectionError) return 'could not connect';
  if (error instanceof Groq.APIError && typeof error.status === 'number') return `HTTP ${error.status}`;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError') return 'aborted';
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return `could not connect (${cause.code})`;
  const message = error instanceof Error ? error.message : String(error);
  // Ollama answers HTTP errors with the server's message; keep it short.
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
