/**
 * Keeps `assistant_passages` in step with `records`, off the write path.
 *
 * It follows records in commit order with the same rule as sync pull (only
 * rows of transactions older than every one still running), remembers its
 * position in `server_meta`, and re-indexes each changed document or update
 * with `assistant_index_record` (idempotent: it replaces the record's
 * passages). One instance indexes at a time; others wait for it, so when
 * `catchUpIndex` returns, every write committed before the call is indexed.
 */
import type { Database } from '../db/database';

const POSITION_KEY = 'assistant_index_position';
const BATCH = 500;
const HELD_BACK_WAIT_MS = 1000;
const HELD_BACK_POLL_MS = 20;

export async function catchUpIndex(db: Database): Promise<number> {
  let indexed = 0;
  for (let waited = 0; ;) {
    const step = await db.transaction(
      async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifeline:assistant-index', 0))`);
        const position = await tx.query<{ value: string }>(`SELECT value FROM server_meta WHERE key = $1`, [
          POSITION_KEY,
        ]);
        const [txId, seq] = (position.rows[0]?.value ?? '0:0').split(':');
        const { rows } = await tx.query<{ index_tx_id: string; index_seq: number }>(
          `SELECT b.tx_id::text AS index_tx_id, b.seq AS index_seq,
                CASE WHEN b.entity_type IN ('document', 'update') THEN
                  assistant_index_record(b.community_id, b.entity_type, b.entity_id, b.fields, b.deleted_at, b.updated_at)
                END
           FROM (SELECT community_id, entity_type, entity_id, fields, deleted_at, updated_at, tx_id, seq
                   FROM records
                  WHERE (tx_id, seq) > ($1::xid8, $2::bigint)
                    AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY tx_id, seq
                  LIMIT $3) AS b
          ORDER BY b.tx_id, b.seq`,
          [txId, Number(seq), BATCH],
        );
        const last = rows[rows.length - 1];
        if (last) {
          await tx.query(
            `INSERT INTO server_meta (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
            [POSITION_KEY, `${last.index_tx_id}:${last.index_seq}`],
          );
        }
        const held =
          rows.length < BATCH &&
          (
            await tx.query<{ held: boolean }>(
              // Any record past what we indexed: held back by an older transaction, or visible since our read.
              `SELECT EXISTS (SELECT 1 FROM records WHERE (tx_id, seq) > ($1::xid8, $2::bigint)) AS held`,
              [last?.index_tx_id ?? txId, last?.index_seq ?? Number(seq)],
            )
          ).rows[0]?.held === true;
        return { count: rows.length, held };
      },
      { orderedScans: true },
    );
    indexed += step.count;
    if (step.count === BATCH) continue;
    // Committed writes can sit behind an older transaction for a moment: wait briefly for it.
    if (!step.held || waited >= HELD_BACK_WAIT_MS) return indexed;
    await new Promise((resolve) => setTimeout(resolve, HELD_BACK_POLL_MS));
    waited += HELD_BACK_POLL_MS;
  }
}
