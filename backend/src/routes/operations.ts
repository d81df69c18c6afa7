import { Router } from 'express';
import type { ServerContext } from '../context';

/** Liveness, readiness (the database answers, not shutting down) and Prometheus metrics. */
export function operationRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    if (ctx.draining) {
      res.status(503).json({ error: { code: 'draining', message: 'this instance is shutting down' } });
      return;
    }
    try {
      await ctx.db.query('SELECT 1');
      res.json({
        status: 'ready',
        serverId: ctx.serverId,
        mode: ctx.config.mode,
        // Extension: each read replica, whether it serves reads and how far behind it is.
        ...(ctx.reads ? { replicas: ctx.reads.states() } : {}),
      });
    } catch {
      res.status(503).json({ error: { code: 'not_ready', message: 'the database is not reachable' } });
    }
  });

  router.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  return router;
}
