/**
 * The hub's side of attachment transfer (migration 600): which complete
 * attachments the cloud still lacks, and which the cloud listed that this
 * hub still lacks (attachment_downloads).
 */
import type { Queryable } from './database';

export interface ToSend {
  hash: string;
  size: number;
  name: string | null;
}

/** Complete here, not known to be complete at the cloud, not set aside for now: oldest first. */
export async function attachmentsToSend(db: Queryable, communityId: string, limit: number): Promise<ToSend[]> {
  const { rows } = await db.query<ToSend>(
    `SELECT hash, size, name FROM attachments
      WHERE community_id = $1 AND complete AND upstream_at IS NULL
        AND (upstream_retry_at IS NULL OR upstream_retry_at <= now())
      ORDER BY completed_at, hash LIMIT $2`,
    [communityId, limit],
  );
  return rows.map((row) => ({ ...row, size: Number(row.size) }));
}

/** The cloud holds it complete: never check it again. */
export async function markAtCloud(db: Queryable, communityId: string, hash: string): Promise<void> {
  await db.query(
    `UPDATE attachments SET upstream_at = coalesce(upstream_at, now()), upstream_error = NULL, upstream_retry_at = NULL
      WHERE community_id = $1 AND hash = $2 AND complete`,
    [communityId, hash],
  );
}

/**
 * The cloud was restored or replaced: it may have lost files it held, so
 * every complete file here is offered again (a declaration the cloud
 * answers complete costs one request per file).
 */
export async function offerAllAttachmentsAgain(tx: Queryable, communityId: string): Promise<void> {
  await tx.query(
    `UPDATE attachments SET upstream_at = NULL, upstream_error = NULL, upstream_retry_at = NULL
      WHERE community_id = $1 AND complete`,
    [communityId],
  );
}

/** The cloud refused it (not a network failure): keep why, try again after `retryMs`. */
export async function setAsideUpload(
  db: Queryable,
  communityId: string,
  hash: string,
  error: string,
  retryMs: number,
): Promise<void> {
  await db.query(
    `UPDATE attachments SET upstream_error = $3, upstream_retry_at = now() + $4 * interval '1 millisecond'
      WHERE community_id = $1 AND hash = $2`,
    [communityId, hash, error, retryMs],
  );
}

/**
 * A page of the cloud's listing: what this hub holds complete is marked as
 * at the cloud, the rest is queued for download (kept if queued already).
 */
export async function recordListing(
  tx: Queryable,
  communityId: string,
  listed: Array<{ hash: string; size: number; name: string | null }>,
): Promise<void> {
  if (listed.length === 0) return;
  const payload = JSON.stringify(listed);
  await tx.query(
    `UPDATE attachments a SET upstream_at = coalesce(a.upstream_at, now()), upstream_error = NULL, upstream_retry_at = NULL
       FROM jsonb_to_recordset($2::jsonb) AS l(hash text)
      WHERE a.community_id = $1 AND a.hash = l.hash AND a.complete`,
    [communityId, payload],
  );
  await tx.query(
    `INSERT INTO attachment_downloads (community_id, hash, size, name)
     SELECT $1, l.hash, l.size, l.name FROM jsonb_to_recordset($2::jsonb) AS l(hash text, size bigint, name text)
      WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.community_id = $1 AND a.hash = l.hash AND a.complete)
     ON CONFLICT (community_id, hash) DO NOTHING`,
    [communityId, payload],
  );
}

export interface ToFetch {
  hash: string;
  size: number;
  name: string | null;
  attempts: number;
}

export async function attachmentsToFetch(db: Queryable, communityId: string, limit: number): Promise<ToFetch[]> {
  const { rows } = await db.query<ToFetch>(
    `SELECT hash, size, name, attempts FROM attachment_downloads
      WHERE community_id = $1 AND retry_at <= now() ORDER BY attempts, listed_at, hash LIMIT $2`,
    [communityId, limit],
  );
  return rows.map((row) => ({ ...row, size: Number(row.size) }));
}

/** Stored here complete: off the download queue, and known to be at the cloud. */
export async function markFetched(tx: Queryable, communityId: string, hash: string): Promise<void> {
  await tx.query(`DELETE FROM attachment_downloads WHERE community_id = $1 AND hash = $2`, [communityId, hash]);
  await markAtCloud(tx, communityId, hash);
}

export async function setAsideDownload(
  db: Queryable,
  communityId: string,
  hash: string,
  error: string,
  retryMs: number,
): Promise<void> {
  await db.query(
    `UPDATE attachment_downloads SET attempts = attempts + 1, last_error = $3,
            retry_at = now() + $4 * interval '1 millisecond'
      WHERE community_id = $1 AND hash = $2`,
    [communityId, hash, error, retryMs],
  );
}

export interface TransferCounts {
  pendingUp: number;
  failedUp: number;
  pendingDown: number;
  failedDown: number;
}

export async function countTransfers(db: Queryable): Promise<TransferCounts> {
  const { rows } = await db.query<TransferCounts>(
    `SELECT (SELECT count(*) FROM attachments WHERE complete AND upstream_at IS NULL AND upstream_error IS NULL)::int AS "pendingUp",
            (SELECT count(*) FROM attachments WHERE complete AND upstream_at IS NULL AND upstream_error IS NOT NULL)::int AS "failedUp",
            (SELECT count(*) FROM attachment_downloads WHERE last_error IS NULL)::int AS "pendingDown",
            (SELECT count(*) FROM attachment_downloads WHERE last_error IS NOT NULL)::int AS "failedDown"`,
  );
  return rows[0]!;
}
