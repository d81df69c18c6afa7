/**
 * Which physical database this is, and re-basing pull positions when that
 * changes. Pull positions are transaction ids of the cluster that wrote them:
 * restored into another cluster (or after a point-in-time restore, or a
 * promoted standby, or a move from the embedded database) they may lie above
 * the new cluster's counter, so pulls would hold back forever, or new writes
 * would get ids below cursors clients already hold and be skipped.
 */
import type { Queryable } from './database';
import { readMeta, writeMeta } from './server-meta';

export const IDENTITY_KEY = 'storage_identity';
const INDEX_POSITION_KEY = 'assistant_index_position';
/** Server ids this database had before a re-base (JSON array, oldest first). */
const FORMER_IDS_KEY = 'former_server_ids';

/**
 * Cluster system id, WAL timeline and database oid; null where the engine
 * cannot tell. Outside any transaction: a refused function would abort it.
 */
export async function readStorageIdentity(db: Queryable): Promise<string | null> {
  try {
    const { rows } = await db.query<{ identity: string }>(
      `SELECT (SELECT system_identifier::text FROM pg_control_system()) || ':' ||
              (SELECT timeline_id::text FROM pg_control_checkpoint()) || ':' ||
              (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS identity`,
    );
    return rows[0]?.identity ?? null;
  } catch {
    return null;
  }
}

/** Whether any record claims a transaction this cluster has not handed out yet. */
export async function positionsAhead(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ ahead: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM records WHERE tx_id >= pg_snapshot_xmax(pg_current_snapshot())) AS ahead`,
  );
  return rows[0]?.ahead ?? false;
}

/**
 * The ids this database served under before it was restored or moved. A
 * cursor naming one of them came from this same data, as it was before: the
 * client may hold writes the restore lost (see `cursor_mismatch` with
 * `restored: true`), unlike a client that comes from another server.
 */
export async function formerServerIds(db: Queryable): Promise<string[]> {
  const stored = await readMeta(db, FORMER_IDS_KEY);
  if (!stored) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Renumber every record's position into this transaction, give the server a
 * new id (so every client's cursor is refused with `cursor_mismatch` and it
 * pulls again from the start; the old id is remembered, see
 * `formerServerIds`), renumber the file listing likewise, and move the assistant indexer past the renumbered rows
 * (their passages came with them). Inside the caller's transaction: a crash
 * half-way leaves the old state, the next start retries.
 */
export async function rebasePositions(tx: Queryable, identity: string | null, newServerId: string): Promise<number> {
  const renumbered = await tx.query(`UPDATE records SET tx_id = pg_current_xact_id(), seq = nextval('records_seq')`);
  // The hub-only file listing walks the same kind of positions: renumber them too, or files listed
  // after a transaction id this cluster has not reached yet would stay out of every hub's listing.
  await tx.query(
    `UPDATE attachments SET complete_tx = pg_current_xact_id(), complete_seq = nextval('attachments_complete_seq')
      WHERE complete`,
  );
  const oldServerId = await readMeta(tx, 'server_id');
  if (oldServerId) {
    const former = await formerServerIds(tx);
    await writeMeta(tx, FORMER_IDS_KEY, JSON.stringify([...former.filter((id) => id !== oldServerId), oldServerId]));
  }
  await writeMeta(tx, 'server_id', newServerId);
  await tx.query(
    `INSERT INTO server_meta (key, value)
     SELECT $1, pg_current_xact_id()::text || ':' || coalesce(max(seq), 0)::text FROM records
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [INDEX_POSITION_KEY],
  );
  if (identity) await writeMeta(tx, IDENTITY_KEY, identity);
  return renumbered.rowCount;
}
