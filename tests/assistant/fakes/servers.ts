/**
 * Small local HTTP servers that speak just enough of Groq's OpenAI-compatible
 * API (SSE chat completions, model list) and of Ollama's (NDJSON chat, tags)
 * for the real client libraries to talk to them. Behaviour can be switched
 * between requests; every chat request body is kept for assertions.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeMode =
  /** Stream `tokens`, then finish properly. */
  | 'ok'
  /** Stream `stallAfter` tokens, then keep the connection open and silent. */
  | 'stall'
  /** Answer HTTP 500 at once. */
  | 'error'
  /** Accept the request and never send the headers. */
  | 'hang';

export interface FakeBehaviour {
  mode: FakeMode;
  tokens: string[];
  stallAfter: number;
  /** Wait this long before the first token (headers go out at once). */
  firstTokenDelayMs: number;
  /** Wait this long between tokens. */
  tokenDelayMs: number;
}

export interface ChatRequestBody {
  model: string;
  stream?: boolean;
  messages: { role: string; content: string }[];
}

export interface FakeServer {
  url: string;
  port: number;
  behaviour: FakeBehaviour;
  /** Chat request bodies received, oldest first. */
  requests: ChatRequestBody[];
  /** How many chat requests arrived (including ones never answered). */
  chatCalls: number;
  /** How many chat responses the client closed before they ended. */
  aborted: number;
  set(behaviour: Partial<FakeBehaviour>): void;
  close(): Promise<void>;
}

const DEFAULT_BEHAVIOUR: FakeBehaviour = {
  mode: 'ok',
  tokens: ['Boil ', 'water ', 'for ', 'one ', 'minute ', '[1].'],
  stallAfter: 2,
  firstTokenDelayMs: 0,
  tokenDelayMs: 0,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Dialect {
  chatPath: string;
  chatContentType: string;
  chunk(text: string): string;
  finish(): string;
  routes(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

async function startFake(dialect: Dialect, initial: Partial<FakeBehaviour>): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const fake = {
    behaviour: { ...DEFAULT_BEHAVIOUR, ...initial },
    requests: [] as ChatRequestBody[],
    chatCalls: 0,
    aborted: 0,
  };

  const server = http.createServer((req, res) => {
    if (dialect.routes(req, res)) return;
    if (req.method !== 'POST' || req.url !== dialect.chatPath) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      fake.chatCalls += 1;
      fake.requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequestBody);
      void respond(res, { ...fake.behaviour });
    });
  });

  async function respond(res: http.ServerResponse, behaviour: FakeBehaviour): Promise<void> {
    res.on('close', () => {
      if (!res.writableFinished) fake.aborted += 1;
    });
    if (behaviour.mode === 'hang') return;
    if (behaviour.mode === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'fake server error', type: 'server_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': dialect.chatContentType, 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (behaviour.firstTokenDelayMs > 0) await sleep(behaviour.firstTokenDelayMs);
    const count = behaviour.mode === 'stall' ? Math.min(behaviour.stallAfter, behaviour.tokens.length) : Infinity;
    for (const [index, token] of behaviour.tokens.entries()) {
      if (index >= count || res.destroyed) break;
      if (index > 0 && behaviour.tokenDelayMs > 0) await sleep(behaviour.tokenDelayMs);
      res.write(dialect.chunk(token));
    }
    // A stalled stream just stays open; close() ends it.
    if (behaviour.mode === 'ok') res.end(dialect.finish());
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get behaviour() {
      return fake.behaviour;
    },
    get requests() {
      return fake.requests;
    },
    get chatCalls() {
      return fake.chatCalls;
    },
    get aborted() {
      return fake.aborted;
    },
    set(behaviour) {
      fake.behaviour = { ...fake.behaviour, ...behaviour };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let completionId = 0;

/** Groq: `POST /openai/v1/chat/completions` as SSE (`data: {chunk}` … `data: [DONE]`), `GET /openai/v1/models`. */
export function startFakeGroq(initial: Partial<FakeBehaviour> = {}): Promise<FakeServer> {
  const id = `chatcmpl-fake-${++completionId}`;
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: 'fake-llama',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
  return startFake(
    {
      chatPath: '/openai/v1/chat/completions',
      chatContentType: 'text/event-stream',
      chunk: (text) => chunk({ content: text }, null),
      finish: () => `${chunk({}, 'stop')}data: [DONE]\n\n`,
      routes(req, res) {
        if (req.method === 'GET' && req.url === '/openai/v1/models') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-llama', object: 'model', owned_by: 'fake' }] }));
          return true;
        }
        return false;
      },
    },
    initial,
  );
}

/** Ollama: `POST /api/chat` as NDJSON (last line `done: true`), `GET /api/tags`. */
export function startFakeOllama(initial: Partial<FakeBehaviour> = {}, models = ['llama3.2:1b']): Promise<FakeServer> {
  const line = (content: string, done: boolean) =>
    `${JSON.stringify({
      model: 'llama3.2:1b',
      created_at: new Date().toISOString(),
      message: { role: 'assistant', content },
      done,
      ...(done ? { done_reason: 'stop', total_duration: 1, eval_count: 1 } : {}),
    })}\n`;
  return startFake(
    {
      chatPath: '/api/chat',
      chatContentType: 'application/x-ndjson',
      chunk: (text) => line(text, false),
      finish: () => line('', true),
      routes(req, res) {
        if (req.method === 'GET' && req.url === '/api/tags') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              models: models.map((name) => ({ name, model: name, modified_at: new Date().toISOString(), size: 1 })),
            }),
          );
          return true;
        }
        return false;
      },
    },
    initial,
  );
}

/** A port with nothing listening on it: connections are refused at once. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
