import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { ServerContext } from '../context';
import { AppError } from '../errors';
import { parse } from '../http/validate';
import { createCommunity, newCommunitySchema, publicUser } from '../services/users';

/**
 * The cloud operator creates communities with OPERATOR_TOKEN. Mounted before
 * member authentication: its bearer token is not a hub key.
 */
export function communityRoutes(ctx: ServerContext): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const token = ctx.config.operatorToken;
    if (!token) throw new AppError(404, 'not_found', `no route ${req.method} ${req.originalUrl.split('?')[0]}`);
    if (!bearerMatches(req.get('authorization'), token)) {
      ctx.metrics.authFailures.inc({ reason: 'operator_token' });
      throw new AppError(401, 'unauthorized', 'operator token required');
    }
    const { community, user } = await createCommunity(ctx, parse(newCommunitySchema, req.body));
    res.status(201).json({ community, user: publicUser(user) });
  });

  return router;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
