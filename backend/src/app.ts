/**
 * The HTTP application: middleware in order, routes mounted, errors last.
 * No listen() here, so tests run it on an ephemeral port.
 */
import express from 'express';
import session from 'express-session';
import { assistantRoutes } from './assistant/routes';
import type { ServerContext } from './context';
import { attachmentRoutes } from './routes/attachments';
import { PostgresSessionStore } from './db/sessions';
import { authenticate } from './http/authenticate';
import { compressResponses } from './http/compress';
import { apiNotFound, errorHandler } from './http/errors';
import { requestLogger, requestMetrics } from './http/observability';
import { sameOriginWrites } from './http/same-origin';
import { staticApp } from './http/static-app';
import './http/types';
import { authRoutes } from './routes/auth';
import { communityRoutes } from './routes/communities';
import { conflictRoutes } from './routes/conflicts';
import { deviceRoutes } from './routes/devices';
import { operationRoutes } from './routes/operations';
import { recordRoutes } from './routes/records';
import { syncRoutes } from './routes/sync';
import { userRoutes } from './routes/users';

export const SESSION_COOKIE = 'lifeline.sid';
const SESSION_DAYS = 30;

export interface AppOptions {
  sessionSecret: string;
}

/** PATCH /api/attachments/:hash: the upload route reads (or refuses, 415) its own body. */
const UPLOAD_PATH = /^\/attachments\/[^/]+\/?$/;

/**
 * JSON request bodies for the API, except an upload piece: that route answers
 * any type but its own with 415, so JSON sent there must not be read (and,
 * when it is not valid JSON, refused with 400) before the route sees it.
 */
function jsonBodies(): express.RequestHandler {
  const json = express.json({ limit: '5mb' });
  return (req, res, next) => {
    if (req.method === 'PATCH' && UPLOAD_PATH.test(req.path)) next();
    else json(req, res, next);
  };
}

export function createApp(ctx: ServerContext, options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers are never revalidated; hashing every ~1 MB pull page for an ETag is wasted work (static files keep theirs).
  app.set('etag', false);
  // Behind a TLS-terminating proxy (Neon-era cloud, compose hub): trust its X-Forwarded-* so cookies get Secure.
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');

  app.use(requestLogger(ctx.log));
  app.use(requestMetrics(ctx.metrics));
  app.use(compressResponses());
  app.use(operationRoutes(ctx));

  const api = express.Router();
  api.use(jsonBodies());
  api.use(
    session({
      name: SESSION_COOKIE,
      secret: options.sessionSecret,
      store: new PostgresSessionStore(ctx.db),
      resave: false,
      saveUninitialized: false,
      rolling: true,
      proxy: true,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: 'auto',
        maxAge: SESSION_DAYS * 24 * 60 * 60 * 1000,
        path: '/',
      },
    }),
  );
  api.use('/communities', communityRoutes(ctx));
  api.use(sameOriginWrites());
  api.use(authenticate(ctx));
  api.use('/auth', authRoutes(ctx));
  api.use('/', userRoutes(ctx));
  api.use('/devices', deviceRoutes(ctx));
  api.use('/sync', syncRoutes(ctx));
  api.use('/records', recordRoutes(ctx));
  api.use('/conflicts', conflictRoutes(ctx));
  api.use('/assistant', assistantRoutes(ctx));
  api.use('/attachments', attachmentRoutes(ctx));
  api.use(apiNotFound);
  app.use('/api', api);

  app.use(staticApp(ctx.config.frontendDir));
  app.use((req) => apiNotFound(req));
  app.use(errorHandler(ctx.log));
  return app;
}
