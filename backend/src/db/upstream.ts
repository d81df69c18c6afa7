/** The hub's queue of changes still to send to the cloud. */
import type { ApiErrorBody, Change } from '@lifeline/core';
import type { Queryable } from './database';

export async function enqueueForUpstream(tx: Queryable, communityId: string, changeIds: string[]): Promise<void> {
  if (changeIds.length === 0) return;
  await tx.query(
    `INSERT INTO upstream_outbox (community_id, change_id)
     SELECT $1, id FROM unnest($2::uuid[]) AS id
     ON CONFLICT (community_id, change_id) DO NOTHING`,
    [communityId, changeIds],
  );
}

/**
 * Put every change in this hub's log back in the queue (one statement, in
 * the order they were taken), for a cloud that may have lost some: restored
 * from a backup, it refuses our cursor. Every row of `changes` here was
 * accepted at this hub (from its members, or a conflict it found): records
 * pulled from the cloud are merged as states and never logged
 * (services/merge-remote.ts), so nothing the cloud sent us goes back up. The
 * cloud answers a change it still has `duplicate`, cheaply, by its id. Rows
 * still queued keep their place; ones the cloud rejected stay set aside.
 * Returns how many were queued again.
 */
export async function requeueAcceptedChanges(tx: Queryable, communityId: string): Promise<number> {
  // bigserial numbers the rows in the SELECT's order, so the queue replays the log oldest first.
  const result = await tx.query(
    `INSERT INTO upstream_outbox (community_id, change_id)
     SELECT c.community_id, c.change_id FROM changes c
      WHERE c.community_id = $1
      ORDER BY c.received_at, c.change_id
     ON CONFLICT (community_id, change_id) DO NOTHING`,
    [communityId],
  );
  return result.rowCount;
}

export interface QueuedChange {
  seq: number;
  change: Change;
}

/** The oldest pending changes, rebuilt from the change log with their author and origin. */
export async function pendingUpstream(db: Queryable, communityId: string, limit: number): Promise<QueuedChange[]> {
  const { rows } = await db.query<{
    seq: number;
    change_id: string;
    entity_type: string;
    entity_id: string;
    op: 'upsert' | 'delete';
    fields: Record<string, unknown> | null;
    stamps: Record<string, string>;
    base: Record<string, string | null> | null;
    author: string | null;
    origin: string | null;
    client_time: string | null;
  }>(
    `SELECT o.seq, c.change_id::text, c.entity_type, c.entity_id::text, c.op, c.fields, c.stamps, c.base, c.author,
            c.origin, c.client_time
       FROM upstream_outbox o
       JOIN changes c ON c.community_id = o.community_id AND c.change_id = o.change_id
      WHERE o.state = 'pending' AND o.community_id = $1
      ORDER BY o.seq
      LIMIT $2`,
    [communityId, limit],
  );
  return rows.map((row) => ({
    seq: row.seq,
    change: {
      changeId: row.change_id,
      entityType: row.entity_type,
      entityId: row.entity_id,
      op: row.op,
      ...(row.fields ? { fields: row.fields } : {}),
      stamps: row.stamps,
      ...(row.base ? { base: row.base } : {}),
      clientTime: row.client_time ?? new Date().toISOString(),
      ...(row.author ? { author: row.author } : {}),
      ...(row.origin ? { origin: row.origin } : {}),
    },
  }));
}

export async function markDelivered(db: Queryable, seqs: number[]): Promise<void> {
  if (seqs.length === 0) return;
  await db.query(`DELETE FROM upstream_outbox WHERE seq = ANY($1::bigint[])`, [seqs]);
}

/** A change the cloud refused is set aside with its reason; it never blocks the queue. */
export async function markRejected(db: Queryable, seq: number, error: ApiErrorBody): Promise<void> {
  await db.query(`UPDATE upstream_outbox SET state = 'rejected', error = $2 WHERE seq = $1`, [
    seq,
    JSON.stringify(error),
  ]);
}

export async function countUpstream(db: Queryable): Promise<{ pending: number; rejected: number }> {
  const { rows } = await db.query<{ pending: number; rejected: number }>(
    `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
            count(*) FILTER (WHERE state = 'rejected')::int AS rejected
       FROM upstream_outbox`,
  );
  return rows[0] ?? { pending: 0, rejected: 0 };
}
