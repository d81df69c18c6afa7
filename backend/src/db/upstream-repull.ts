/**
 * A hub's re-pull from a cloud that refused its cursor (restored from a
 * backup): while it lasts, what the hub noted of each record the cloud sent
 * back (see migrations/1700000000800_hub_repull.sql and upstream/repull.ts).
 */
import type { Queryable } from './database';
import { recordColumns, toRecord, type RecordRow, type StoredRecord } from './records';
import { readMeta, writeMeta } from './server-meta';

/** When the re-pull began (ISO time); absent when none is under way. */
const REPULL_KEY = 'upstream_repull_since';

/**
 * What a hub offers a restored cloud again: every type it may write there
 * (it forwards its members' edits, its admins' account changes and the
 * conflicts it finds). Browsers offer updates and documents only.
 */
export const HUB_REOFFERED_TYPES: readonly string[] = ['update', 'document', 'conflict', 'user'];

/** Fields the hub holds newer than the cloud's copy: field → the cloud's stamp (null: it has none). */
export type Behind = Record<string, string | null>;

export async function beginRepull(tx: Queryable, communityId: string): Promise<void> {
  await tx.query(`DELETE FROM upstream_repull_seen WHERE community_id = $1`, [communityId]);
  await writeMeta(tx, REPULL_KEY, new Date().toISOString());
}

export async function repullUnderWay(db: Queryable): Promise<boolean> {
  return (await readMeta(db, REPULL_KEY)) !== null;
}

/** Note what a page brought back; a record sent twice (changed at the cloud meanwhile) keeps the later note. */
export async function noteSeen(
  tx: Queryable,
  communityId: string,
  seen: Array<{ entityType: string; entityId: string; behind: Behind }>,
): Promise<void> {
  if (seen.length === 0) return;
  await tx.query(
    `INSERT INTO upstream_repull_seen (community_id, entity_type, entity_id, behind)
     SELECT $1, s.entity_type, s.entity_id, s.behind
       FROM jsonb_to_recordset($2::jsonb) AS s(entity_type text, entity_id uuid, behind jsonb)
     ON CONFLICT (community_id, entity_type, entity_id) DO UPDATE SET behind = EXCLUDED.behind`,
    [
      communityId,
      JSON.stringify(seen.map((s) => ({ entity_type: s.entityType, entity_id: s.entityId, behind: s.behind }))),
    ],
  );
}

export interface HeldRecord {
  record: StoredRecord;
  /** What the cloud lacks of it; null when the re-pull never brought it back. */
  behind: Behind | null;
}

/**
 * Records of the re-offered types held here after `after` (in primary-key order), each
 * with its note. Read down the primary key with one probe of the notes per
 * record (in a transaction with `orderedScans`), whatever the statistics.
 */
export async function heldRecordsAfter(
  tx: Queryable,
  communityId: string,
  after: { entityType: string; entityId: string },
  limit: number,
): Promise<HeldRecord[]> {
  const { rows } = await tx.query<RecordRow & { behind: Behind | null }>(
    `SELECT ${recordColumns('r')},
            (SELECT s.behind FROM upstream_repull_seen s
              WHERE s.community_id = r.community_id AND s.entity_type = r.entity_type AND s.entity_id = r.entity_id
            ) AS behind
       FROM records r
      WHERE r.community_id = $1 AND r.entity_type = ANY($5::text[])
        AND (r.entity_type, r.entity_id) > ($2, $3::uuid)
      ORDER BY r.entity_type, r.entity_id
      LIMIT $4`,
    [communityId, after.entityType, after.entityId, limit, HUB_REOFFERED_TYPES],
  );
  return rows.map((row) => ({ record: toRecord(row), behind: row.behind }));
}

export async function endRepull(tx: Queryable, communityId: string): Promise<void> {
  await tx.query(`DELETE FROM upstream_repull_seen WHERE community_id = $1`, [communityId]);
  await writeMeta(tx, REPULL_KEY, null);
}
