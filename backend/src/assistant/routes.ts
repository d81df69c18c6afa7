import { Router } from 'express';
import type { ServerContext } from '../context';
import { AppError } from '../errors';

/** The assistant arrives with its own issue; until then it says so in the contract's shape. */
export function assistantRoutes(_ctx: ServerContext): Router {
  const router = Router();
  router.use(() => {
    throw new AppError(503, 'assistant_unavailable', 'the assistant is not available on this server yet');
  });
  return router;
}
