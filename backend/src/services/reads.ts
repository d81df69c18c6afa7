/** Where a caller's reads go: a read replica when one is configured and fit, else the primary. */
import type { ServerContext } from '../context';
import type { Database } from '../db/database';
import { authorId, type Principal } from '../principal';

export function readDatabase(ctx: ServerContext, principal: Principal): Database {
  return ctx.reads?.forReads(authorId(principal)) ?? ctx.db;
}

/** The caller just wrote: its next reads must see that write, so they go to the primary for a while. */
export function noteWrite(ctx: ServerContext, principal: Principal): void {
  ctx.reads?.noteWrite(authorId(principal));
}
