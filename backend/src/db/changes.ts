/** The log of accepted changes: exactly-once delivery and per-record history. */
import type { Change, ChangeResult, HistoryEntry } from '@lifeline/core';
import type { Queryable } from './database';

/** Changes already accepted here, with the stamps they were taken with (a re-send is told them again). */
export async function findExistingChanges(
  tx: Queryable,
  communityId: string,
  changeIds: string[],
): Promise<Map<string, Record<string, string>>> {
  if (changeIds.length === 0) return new Map();
  // One primary-key probe per id, whatever the planner believes about the table's size: `= ANY` or a
  // join let it scan every change of the community when statistics are missing (the LIMIT keeps the
  // subquery from being flattened into such a join).
  const { rows } = await tx.query<{ change_id: string; stamps: Record<string, string> }>(
    `SELECT found.change_id::text AS change_id, found.stamps
       FROM unnest($2::uuid[]) AS wanted(id)
       CROSS JOIN LATERAL (
         SELECT c.change_id, c.stamps FROM changes c WHERE c.community_id = $1 AND c.change_id = wanted.id LIMIT 1
       ) AS found`,
    [communityId, changeIds],
  );
  return new Map(rows.map((row) => [row.change_id, row.stamps]));
}

export interface AcceptedChange {
  change: Change;
  author: string;
  origin: string;
  clientId: string;
  result: ChangeResult;
}

export async function recordChanges(tx: Queryable, communityId: string, accepted: AcceptedChange[]): Promise<void> {
  if (accepted.length === 0) return;
  const payload = accepted.map(({ change, author, origin, clientId, result }) => ({
    change_id: change.changeId,
    entity_type: change.entityType,
    entity_id: change.entityId,
    op: change.op,
    fields: change.fields ?? null,
    stamps: change.stamps,
    base: change.base ?? null,
    author,
    origin,
    client_id: clientId,
    client_time: change.clientTime,
    status: result.status,
    version: result.version ?? null,
    conflict_ids: result.conflictIds ?? null,
  }));
  await tx.query(
    `INSERT INTO changes (community_id, change_id, entity_type, entity_id, op, fields, stamps, base, author, origin,
                          client_id, client_time, status, version, conflict_ids)
     SELECT $1, c.change_id, c.entity_type, c.entity_id, c.op, c.fields, c.stamps, c.base, c.author, c.origin,
            c.client_id, c.client_time, c.status, c.version, c.conflict_ids
       FROM jsonb_to_recordset($2::jsonb) AS c(change_id uuid, entity_type text, entity_id uuid, op text, fields jsonb,
            stamps jsonb, base jsonb, author text, origin text, client_id text, client_time text, status text,
            version integer, conflict_ids jsonb)
     ON CONFLICT (community_id, change_id) DO NOTHING`,
    [communityId, JSON.stringify(payload)],
  );
}

export async function historyOf(
  db: Queryable,
  communityId: string,
  entityId: string,
  limit = 200,
): Promise<HistoryEntry[]> {
  // The newest `limit` changes, listed oldest first.
  const { rows } = await db.query<HistoryEntry>(
    `SELECT * FROM (
       SELECT c.change_id::text AS "changeId", c.op, c.fields, c.author, u.display_name AS "authorName", c.origin,
              c.client_time AS "clientTime", c.received_at AS "receivedAt", c.status, c.version
         FROM changes c LEFT JOIN users u ON u.id::text = c.author
        WHERE c.community_id = $1 AND c.entity_id = $2
        ORDER BY c.received_at DESC, c.change_id DESC LIMIT $3
     ) AS newest
     ORDER BY "receivedAt", "changeId"`,
    [communityId, entityId, limit],
  );
  return rows;
}
