import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { ServerContext } from '../context';
import { PostgresRateLimitStore } from '../db/rate-limits';
import { findUserByEmail, findUserById } from '../db/users';
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../domain/secrets';
import { AppError, unauthorized } from '../errors';
import { requireUser } from '../http/authenticate';
import { parse } from '../http/validate';
import { publicUser, setup, setupSchema } from '../services/users';

const loginSchema = z.object({ email: z.string().max(254), password: z.string().max(200) });

function startSession(req: Request, userId: string): Promise<void> {
  // A new session id at sign-in, so a planted session cookie is worthless.
  return new Promise((resolve, reject) =>
    req.session.regenerate((error) => {
      if (error) return reject(error as Error);
      req.session.userId = userId;
      req.session.save((saveError) => (saveError ? reject(saveError as Error) : resolve()));
    }),
  );
}

export function authRoutes(ctx: ServerContext): Router {
  const router = Router();

  // Failed sign-ins per address and email: 10 in 15 minutes, shared by every instance.
  const loginLimiter = rateLimit({
    windowMs: 15 * 60 * 1000,
    limit: 10,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new PostgresRateLimitStore(ctx.db, 'login:'),
    keyGenerator: (req) => {
      const email = typeof req.body?.email === 'string' ? req.body.email.toLowerCase() : '';
      return `${ipKeyGenerator(req.ip ?? 'unknown')}|${email}`;
    },
    handler: () => {
      ctx.metrics.authFailures.inc({ reason: 'throttled' });
      throw new AppError(429, 'too_many_attempts', 'too many failed sign-ins: wait a few minutes and try again');
    },
  });

  router.post('/setup', async (req, res) => {
    if (ctx.config.mode === 'hub') {
      // A hub's community and accounts come from the cloud; a local setup would split them.
      throw new AppError(409, 'hub_mode', 'this hub takes its community and accounts from the cloud: sign in instead');
    }
    const input = parse(setupSchema, req.body);
    const user = await setup(ctx, input);
    await startSession(req, user.id);
    res.status(201).json({ user: publicUser(user) });
  });

  router.post('/login', loginLimiter, async (req, res) => {
    const { email, password } = parse(loginSchema, req.body);
    const user = await findUserByEmail(ctx.db, email);
    // Verify against a dummy hash for unknown emails: same answer, same time.
    const valid = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_PASSWORD_HASH));
    if (!user || !valid || user.disabled) {
      ctx.metrics.authFailures.inc({ reason: 'credentials' });
      throw new AppError(401, 'invalid_credentials', 'email or password is wrong');
    }
    await startSession(req, user.id);
    res.json({ user: publicUser(user) });
  });

  router.post('/logout', async (req, res) => {
    if (req.session) await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie('lifeline.sid', { path: '/' });
    res.status(204).end();
  });

  router.get('/me', async (req, res) => {
    if (!req.principal) throw unauthorized();
    const principal = requireUser(req);
    const user = await findUserById(ctx.db, principal.userId);
    if (!user) throw unauthorized();
    res.json({ user: publicUser(user) });
  });

  return router;
}
