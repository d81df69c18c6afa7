import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseMessage } from './sse';

function parseInChunks(text: string, size: number): SseMessage[] {
  const parser = new SseParser();
  const out: SseMessage[] = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  return out;
}

const STREAM = [
  'event: meta\ndata: {"provider":"extractive","sources":[]}\n\n',
  'event: token\ndata: {"text":"Hello [1]"}\n\n',
  'event: done\ndata: {"provider":"extractive","ms":12}\n\n',
].join('');

describe('SseParser', () => {
  it('parses named events with JSON data', () => {
    expect(new SseParser().push(STREAM)).toEqual([
      { event: 'meta', data: '{"provider":"extractive","sources":[]}' },
      { event: 'token', data: '{"text":"Hello [1]"}' },
      { event: 'done', data: '{"provider":"extractive","ms":12}' },
    ]);
  });

  it('gives the same events whatever the chunk boundaries (down to one character)', () => {
    const whole = new SseParser().push(STREAM);
    for (const size of [1, 2, 3, 7, 16, 50]) expect(parseInChunks(STREAM, size)).toEqual(whole);
  });

  it('accepts CRLF and CR line endings, even with CRLF split across chunks', () => {
    const crlf = STREAM.replace(/\n/g, '\r\n');
    const cr = STREAM.replace(/\n/g, '\r');
    const expected = new SseParser().push(STREAM);
    expect(new SseParser().push(crlf)).toEqual(expected);
    expect(new SseParser().push(cr)).toEqual(expected);
    for (const size of [1, 2, 5]) expect(parseInChunks(crlf, size)).toEqual(expected);
  });

  it('joins multi-line data with newlines, skips comments, defaults the event name to "message"', () => {
    const text = ': keep-alive\n\ndata: one\ndata: two\n\ndata:no-space\nid: 7\n\n';
    expect(new SseParser().push(text)).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'message', data: 'no-space', id: '7' },
    ]);
  });

  it('drops an event with no data and an event not ended by a blank line', () => {
    const parser = new SseParser();
    expect(parser.push('event: meta\n\nevent: token\ndata: {"text":"cut')).toEqual([]);
  });

  it('keeps a token that contains markup as plain data (the page renders it as text)', () => {
    const text = 'event: token\ndata: {"text":"<img src=x onerror=alert(1)>"}\n\n';
    const [message] = new SseParser().push(text);
    expect(JSON.parse(message!.data)).toEqual({ text: '<img src=x onerror=alert(1)>' });
  });
});

describe('readSse', () => {
  function body(chunks: string[]): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    return new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    });
  }

  it('reads events from a byte stream, with a multi-byte character split between chunks', async () => {
    const bytes = new TextEncoder().encode('event: token\ndata: {"text":"café — ok"}\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, cut));
        controller.enqueue(bytes.slice(cut));
        controller.close();
      },
    });
    const events: SseMessage[] = [];
    for await (const event of readSse(stream)) events.push(event);
    expect(events).toEqual([{ event: 'token', data: '{"text":"café — ok"}' }]);
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: 1\n\ndata: 2\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of readSse(stream)) {
      expect(event.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });

  it('reads a stream in many small chunks', async () => {
    const chunks = STREAM.match(/[\s\S]{1,5}/g)!;
    const events: SseMessage[] = [];
    for await (const event of readSse(body(chunks))) events.push(event);
    expect(events.map((e) => e.event)).toEqual(['meta', 'token', 'done']);
  });
});
