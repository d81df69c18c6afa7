import { isEntityType, uuidSchema } from '@lifeline/core';
import { Router } from 'express';
import type { ServerContext } from '../context';
import { historyOf } from '../db/changes';
import { getRecord } from '../db/records';
import { badRequest, notFound } from '../errors';
import { requirePrincipal } from '../http/authenticate';
import { parse } from '../http/validate';
import { readDatabase } from '../services/reads';
import { toWire } from '../services/sync';

export function recordRoutes(ctx: ServerContext): Router {
  const router = Router();

  const target = (params: Record<string, string | string[] | undefined>) => {
    const entityType = String(params.entityType);
    if (!isEntityType(entityType)) throw badRequest('unknown_entity_type', `unknown entity type "${entityType}"`);
    return { entityType, entityId: parse(uuidSchema, params.entityId, 'entityId') };
  };

  router.get('/:entityType/:entityId', async (req, res) => {
    const principal = requirePrincipal(req);
    const { entityType, entityId } = target(req.params);
    const record = await getRecord(readDatabase(ctx, principal), principal.communityId, entityType, entityId);
    if (!record) throw notFound('record');
    res.json({ record: toWire(record, principal) });
  });

  /** Extension: who changed what, oldest first (the PWA's update history). */
  router.get('/:entityType/:entityId/history', async (req, res) => {
    const principal = requirePrincipal(req);
    const { entityType, entityId } = target(req.params);
    const db = readDatabase(ctx, principal);
    if (!(await getRecord(db, principal.communityId, entityType, entityId))) throw notFound('record');
    const history = await historyOf(db, principal.communityId, entityId);
    res.json({ history: history.map((entry) => ({ ...entry, fields: withoutSecrets(entry.fields) })) });
  });

  return router;
}

function withoutSecrets(fields: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!fields || !('passwordHash' in fields)) return fields;
  const copy = { ...fields };
  delete copy.passwordHash;
  return copy;
}
