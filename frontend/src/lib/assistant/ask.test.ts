import { describe, expect, it } from 'vitest';
import { ask, AskError } from './ask';
import type { AnswerEvent } from './types';

function sseResponse(text: string, status = 200): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
}

async function collect(iterable: AsyncIterable<AnswerEvent>): Promise<AnswerEvent[]> {
  const out: AnswerEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}

describe('ask', () => {
  it('posts the question asking for an event stream and yields typed events', async () => {
    let seen: RequestInit | undefined;
    const fetchStub = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen = init;
      return sseResponse(
        'event: meta\ndata: {"provider":"groq","sources":[{"n":1,"entityType":"document","entityId":"d1","title":"T","heading":null,"snippet":"a <mark>b</mark>"}]}\n\n' +
          'event: token\ndata: {"text":"Boil "}\n\nevent: token\ndata: {"text":"water [1]"}\n\n' +
          'event: done\ndata: {"provider":"groq","ms":40}\n\n',
      );
    }) as typeof fetch;
    const events = await collect(ask('how?', { fetch: fetchStub }));
    expect(JSON.parse(String(seen?.body))).toEqual({ question: 'how?' });
    expect((seen?.headers as Record<string, string>).accept).toBe('text/event-stream');
    expect(events.map((e) => e.type)).toEqual(['meta', 'token', 'token', 'done']);
    expect(events[0]).toMatchObject({ provider: 'groq', sources: [{ n: 1, entityId: 'd1' }] });
  });

  it('words a 429 as "too many questions"', async () => {
    const fetchStub = (async () =>
      new Response(JSON.stringify({ error: { code: 'too_many_questions', message: 'x' } }), {
        status: 429,
      })) as typeof fetch;
    await expect(collect(ask('q', { fetch: fetchStub }))).rejects.toMatchObject({
      kind: 'rate_limited',
      message: 'Too many questions, wait a few minutes.',
    });
  });

  it('reports a failed fetch as offline', async () => {
    const fetchStub = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch;
    const error = await collect(ask('q', { fetch: fetchStub })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AskError);
    expect((error as AskError).kind).toBe('offline');
  });

  it('ends with a stream error when the answer is cut off before done', async () => {
    const fetchStub = (async () =>
      sseResponse('event: meta\ndata: {"provider":"ollama","sources":[]}\n\n')) as typeof fetch;
    await expect(collect(ask('q', { fetch: fetchStub }))).rejects.toMatchObject({ kind: 'stream' });
  });

  it('passes a server error event through and stops there', async () => {
    const fetchStub = (async () =>
      sseResponse(
        'event: meta\ndata: {"provider":"groq","sources":[]}\n\nevent: error\ndata: {"code":"provider_stalled","message":"stalled"}\n\n',
      )) as typeof fetch;
    const events = await collect(ask('q', { fetch: fetchStub }));
    expect(events.at(-1)).toEqual({ type: 'error', code: 'provider_stalled', message: 'stalled' });
  });

  it('ends quietly when stopped', async () => {
    const controller = new AbortController();
    const fetchStub = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encoder.encode('event: meta\ndata: {"provider":"groq","sources":[]}\n\n'));
          init?.signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }) as typeof fetch;
    const events: AnswerEvent[] = [];
    for await (const event of ask('q', { fetch: fetchStub, signal: controller.signal })) {
      events.push(event);
      controller.abort();
    }
    expect(events.map((e) => e.type)).toEqual(['meta']);
  });
});
