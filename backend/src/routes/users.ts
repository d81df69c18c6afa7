import { Router, type Request } from 'express';
import type { ServerContext } from '../context';
import { listUsers } from '../db/users';
import { requireUser } from '../http/authenticate';
import { parse } from '../http/validate';
import { createUser, memberView, newUserSchema, publicUser, updateMember, userPatchSchema } from '../services/users';
import { uuidSchema } from '@lifeline/core';

function idParam(req: Request): string {
  return parse(uuidSchema, req.params.id, 'id');
}

export function userRoutes(ctx: ServerContext): Router {
  const router = Router();

  router.post('/users', async (req, res) => {
    const admin = requireUser(req, 'admin');
    const user = await createUser(ctx, admin.communityId, parse(newUserSchema, req.body), admin.userId);
    res.status(201).json({ user: publicUser(user) });
  });

  router.get('/users', async (req, res) => {
    const member = requireUser(req, 'coordinator');
    res.json({ users: (await listUsers(ctx.db, member.communityId)).map(memberView) });
  });

  router.patch('/users/:id', async (req, res) => {
    const admin = requireUser(req, 'admin');
    const user = await updateMember(
      ctx,
      admin.communityId,
      idParam(req),
      parse(userPatchSchema, req.body),
      admin.userId,
    );
    res.json({ user: memberView(user) });
  });

  return router;
}
