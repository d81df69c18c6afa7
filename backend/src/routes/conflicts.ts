import { uuidSchema } from '@lifeline/core';
import { Router } from 'express';
import { z } from 'zod';
import type { ServerContext } from '../context';
import { requireUser } from '../http/authenticate';
import { parse } from '../http/validate';
import { listConflicts, parseResolution, resolveConflict } from '../services/conflicts';

const listQuerySchema = z.object({ status: z.enum(['open', 'resolved', 'all']).default('open') });

export function conflictRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const coordinator = requireUser(req, 'coordinator');
    const { status } = parse(listQuerySchema, req.query, 'query');
    res.json({ conflicts: await listConflicts(ctx, coordinator, status) });
  });

  router.post('/:id/resolve', async (req, res) => {
    const coordinator = requireUser(req, 'coordinator');
    const id = parse(uuidSchema, req.params.id, 'id');
    res.json(await resolveConflict(ctx, coordinator, id, parseResolution(req.body)));
  });

  return router;
}
