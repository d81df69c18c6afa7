import { Router, type Request } from 'express';
import type { ServerContext } from '../context';
import { listUsers } from '../db/users';
import { AppError } from '../errors';
import { requireUser } from '../http/authenticate';
import { parse } from '../http/validate';
import {
  createCommunity,
  createUser,
  memberView,
  newCommunitySchema,
  newUserSchema,
  publicUser,
  updateMember,
  userPatchSchema,
} from '../services/users';
import { uuidSchema } from '@lifeline/core';
import { timingSafeEqual } from 'node:crypto';

function idParam(req: Request): string {
  return parse(uuidSchema, req.params.id, 'id');
}

export function userRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.post('/users', async (req, res) => {
    const admin = requireUser(req, 'admin');
    const user = await createUser(ctx, admin.communityId, parse(newUserSchema, req.body));
    res.status(201).json({ user: publicUser(user) });
  });

  router.get('/users', async (req, res) => {
    const member = requireUser(req, 'coordinator');
    res.json({ users: (await listUsers(ctx.db, member.communityId)).map(memberView) });
  });

  router.patch('/users/:id', async (req, res) => {
    const admin = requireUser(req, 'admin');
    const user = await updateMember(ctx, admin.communityId, idParam(req), parse(userPatchSchema, req.body));
    res.json({ user: memberView(user) });
  });

  router.post('/communities', async (req, res) => {
    const token = ctx.config.operatorToken;
    if (!token) throw new AppError(404, 'not_found', `no route ${req.method} ${req.path}`);
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

