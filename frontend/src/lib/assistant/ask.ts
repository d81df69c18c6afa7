/**
 * Asks the server's assistant and streams the answer's events. Every
 * failure is an AskError with a `kind` the screen words for people:
 * `offline` means no server could be reached (search this device instead).
 */
import { readSse } from './sse';
import type { AnswerEvent, ProviderName, Source } from './types';

export type AskErrorKind = 'offline' | 'rate_limited' | 'signed_out' | 'invalid' | 'server' | 'stream';

export class AskError extends Error {
  override readonly name = 'AskError';
  constructor(
    readonly kind: AskErrorKind,
    message: string,
    readonly status = 0,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface AskOptions {
  signal?: AbortSignal;
  fetch?: typeof fetch;
  baseUrl?: string;
}

function wordsFor(status: number, serverMessage: string | undefined): AskError {
  if (status === 429) return new AskError('rate_limited', 'Too many questions, wait a few minutes.', status);
  if (status === 401) return new AskError('signed_out', 'Sign in again to ask the assistant.', status);
  if (status === 400)
    return new AskError(
      'invalid',
      serverMessage ? `The question was not accepted: ${serverMessage}.` : 'The question was not accepted.',
      status,
    );
  if (status === 502 || status === 503 || status === 504)
    return new AskError('offline', 'The server cannot be reached right now.', status);
  return new AskError('server', `The assistant failed on the server (${status}). Please ask again.`, status);
}

function toEvent(event: string, data: string): AnswerEvent | null {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return null;
  }
  switch (event) {
    case 'meta':
      return {
        type: 'meta',
        provider: String(payload.provider) as ProviderName,
        sources: Array.isArray(payload.sources) ? (payload.sources as Source[]) : [],
      };
    case 'token':
      return typeof payload.text === 'string' ? { type: 'token', text: payload.text } : null;
    case 'done':
      return { type: 'done', provider: String(payload.provider) as ProviderName, ms: Number(payload.ms) };
    case 'error':
      return { type: 'error', code: String(payload.code ?? 'error'), message: String(payload.message ?? '') };
    default:
      return null;
  }
}

/** The answer's events in order. An abort (Stop) ends the iteration quietly. */
export async function* ask(question: string, options: AskOptions = {}): AsyncGenerator<AnswerEvent, void, undefined> {
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  let response: Response;
  try {
    response = await doFetch(`${options.baseUrl ?? ''}/api/assistant/ask`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ question }),
      signal: options.signal,
    });
  } catch (cause) {
    if (options.signal?.aborted) return;
    throw new AskError('offline', 'Cannot reach the server.', 0, { cause });
  }
  if (!response.ok) {
    let message: string | undefined;
    try {
      message = ((await response.json()) as { error?: { message?: string } }).error?.message;
    } catch {
      message = undefined;
    }
    throw wordsFor(response.status, message);
  }
  if (!response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    throw new AskError('server', 'The server did not stream an answer. Please ask again.', response.status);
  }
  let ended = false;
  try {
    for await (const message of readSse(response.body)) {
      const event = toEvent(message.event, message.data);
      if (!event) continue;
      yield event;
      if (event.type === 'done' || event.type === 'error') {
        ended = true;
        return;
      }
    }
  } catch (cause) {
    if (options.signal?.aborted) return;
    throw new AskError('stream', 'The connection broke during the answer. Please ask again.', 0, { cause });
  }
  if (!ended && !options.signal?.aborted)
    throw new AskError('stream', 'The answer was cut off before it finished. Please ask again.');
}
