/**
 * At start-up: if this database now lives somewhere else than when it last
 * ran (restored from a backup, moved from the embedded database, a promoted
 * standby) or its records carry transaction ids this cluster has not reached,
 * re-base pull positions before serving anyone (see db/storage-identity.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/database';
import { readMeta, writeMeta } from '../db/server-meta';
import { IDENTITY_KEY, positionsAhead, readStorageIdentity, rebasePositions } from '../db/storage-identity';

export interface RestoreCheck {
  rebased: boolean;
  reason?: 'moved' | 'positions_ahead';
  records?: number;
  ms?: number;
}

export async function rebaseIfRestored(db: Database, log: Pick<Logger, 'warn'>): Promise<RestoreCheck> {
  const started = performance.now();
  const identity = await readStorageIdentity(db);
  // One instance decides: several starting on a restored database must not each issue a server id.
  const check = await db.transaction(async (tx): Promise<RestoreCheck> => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifeline:restore-guard', 0))`);
    const stored = await readMeta(tx, IDENTITY_KEY);
    const ahead = await positionsAhead(tx);
    const moved = identity !== null && stored !== null && identity !== stored;
    if (!moved && !ahead) {
      if (identity !== null && stored === null) await writeMeta(tx, IDENTITY_KEY, identity);
      return { rebased: false };
    }
    const records = await rebasePositions(tx, identity, randomUUID());
    return { rebased: true, reason: moved ? 'moved' : 'positions_ahead', records };
  });
  if (!check.rebased) return check;
  check.ms = Math.round(performance.now() - started);
  log.warn(
    { reason: check.reason, records: check.records, ms: check.ms },
    'database restored or moved: pull positions re-based and a new server id issued; clients pull again from the start',
  );
  return check;
}
