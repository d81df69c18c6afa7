/**
 * `POST /api/assistant/ask` (SSE with `Accept: text/event-stream`, JSON
 * otherwise) and `GET /api/assistant/providers`. Thin: validate, limit,
 * hand over to the Assistant, write its events.
 */
import { rateLimit } from 'express-rate-limit';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { drainedOrClosed } from '../http/backpressure';
import type { ServerContext } from '../context';
import { PostgresRateLimitStore } from '../db/rate-limits';
import { AppError } from '../errors';
import { requirePrincipal } from '../http/authenticate';
import { parse } from '../http/validate';
import type { Principal } from '../principal';
import { Assistant, type AssistantOptions } from './service';
import type { AnswerEvent, ProviderName, Source } from './types';

export const MAX_QUESTION_CHARS = 2000;
export const QUESTIONS_PER_WINDOW = 20;
export const QUESTION_WINDOW_MS = 5 * 60 * 1000;

export const askSchema = z.object({
  question: z
    .string('a question')
    .trim()
    .min(1, 'a question')
    .max(MAX_QUESTION_CHARS, `at most ${MAX_QUESTION_CHARS} characters`),
});

const askerKey = (principal: Principal) =>
  principal.kind === 'user' ? `user:${principal.userId}` : `hub:${principal.deviceId}`;

export function assistantRoutes(ctx: ServerContext, options: AssistantOptions = {}): Router {
  const router = Router();
  const assistant = new Assistant(ctx, options);

  // Per asker, shared by every instance: each question can cost a model call.
  const questionLimiter = rateLimit({
    windowMs: QUESTION_WINDOW_MS,
    limit: QUESTIONS_PER_WINDOW,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new PostgresRateLimitStore(ctx.db, 'assistant:'),
    keyGenerator: (req) => askerKey(requirePrincipal(req)),
    handler: () => {
      throw new AppError(429, 'too_many_questions', 'too many questions in a few minutes: wait a little and ask again');
    },
  });

  router.post(
    '/ask',
    (req, _res, next) => {
      requirePrincipal(req);
      req.body = parse(askSchema, req.body);
      next();
    },
    questionLimiter,
    async (req, res) => {
      const principal = requirePrincipal(req);
      const { question } = req.body as z.infer<typeof askSchema>;
      const live = (req.get('accept') ?? '').includes('text/event-stream');
      const asker = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) asker.abort();
      });
      const events = assistant.ask({ communityId: principal.communityId, question, live, signal: asker.signal });
      if (live) await writeEventStream(res, events);
      else await writeJson(res, events);
    },
  );

  router.get('/providers', async (req, res) => {
    requirePrincipal(req);
    res.json({ providers: await assistant.providers() });
  });

  return router;
}

async function writeJson(res: Response, events: AsyncIterable<AnswerEvent>): Promise<void> {
  let provider: ProviderName = 'extractive';
  let sources: Source[] = [];
  let answer = '';
  for await (const event of events) {
    if (event.type === 'meta') ({ provider, sources } = event);
    else if (event.type === 'token') answer += event.text;
    else if (event.type === 'error') throw new AppError(502, event.code, event.message);
  }
  if (res.destroyed) return;
  res.json({ answer, provider, sources });
}

/**
 * Server-sent events. Headers go out with the first event, so a failure
 * before it (retrieval) is still an ordinary error response; a failure after
 * it becomes an `error` event that ends the stream.
 */
async function writeEventStream(res: Response, events: AsyncIterable<AnswerEvent>): Promise<void> {
  const write = async (event: AnswerEvent) => {
    const { type, ...data } = event;
    if (!res.headersSent) {
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
    }
    if (res.destroyed) return;
    if (!res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`)) {
      await drainedOrClosed(res);
    }
  };
  try {
    for await (const event of events) {
      if (res.destroyed) break;
      await write(event);
    }
  } catch (error) {
    if (!res.headersSent) throw error;
    // Only after the stream began; the contract's error, as an event.
    (res.req as Request).log?.error({ err: error }, 'assistant stream failed');
    await write({
      type: 'error',
      code: 'internal_error',
      message: 'the answer failed on the server; please ask again',
    });
  }
  res.end();
}
