import { pullRequestSchema, pushRequestSchema } from '@lifeline/core';
import { Router } from 'express';
import type { ServerContext } from '../context';
import { requireHubOrAdmin, requirePrincipal } from '../http/authenticate';
import { parse } from '../http/validate';
import { exportLines, pull, pullAnswerJson, push, status } from '../services/sync';

export function syncRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.post('/push', async (req, res) => {
    const principal = requirePrincipal(req);
    const body = parse(pushRequestSchema, req.body);
    res.json(await push(ctx, principal, body.clientId, body.changes));
  });

  router.post('/pull', async (req, res) => {
    const principal = requirePrincipal(req);
    const body = parse(pullRequestSchema, req.body);
    res.type('application/json').send(pullAnswerJson(await pull(ctx, principal, body.cursor, body.limit)));
  });

  router.get('/status', async (req, res) => {
    const principal = requirePrincipal(req);
    res.json(await status(ctx, principal));
  });

  router.get('/export', async (req, res) => {
    const principal = requireHubOrAdmin(req);
    res.type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    for await (const line of exportLines(ctx, principal)) {
      // Respect backpressure: a slow reader must not make us buffer the whole community.
      if (!res.write(line)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  });

  return router;
}
