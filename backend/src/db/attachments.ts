/**
 * Attachments and their bytes (migration 500): one row per file per
 * community, the bytes in chunks of at most 1 MiB keyed by their offset.
 * Works the same on pg (bytea as Buffer) and PGlite (bytea as Uint8Array).
 */
import { pieceKey, piecesPrefix, type ObjectStore } from '../blobs/object-store';
import type { Queryable } from './database';

/** Where pieces' bytes go when they are not kept in Postgres (ATTACHMENT_STORE=s3). */
export interface PieceBucket {
  store: ObjectStore;
  prefix: string;
}

export interface AttachmentRow {
  hash: string;
  size: number;
  received: number;
  type: string | null;
  name: string | null;
  complete: boolean;
  createdAt: string;
  completedAt: string | null;
}

const COLUMNS = `hash, size, received, type, name, complete, created_at AS "createdAt", completed_at AS "completedAt"`;

/** Serialises declarations in one community, so two at once cannot both fit under the quota. */
export async function lockCommunityAttachments(tx: Queryable, communityId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifeline:attachments:' || $1, 0))`, [communityId]);
}

/** `lock`: hold the row until the transaction ends (appends to one upload take turns). */
export async function findAttachment(
  db: Queryable,
  communityId: string,
  hash: string,
  { lock = false }: { lock?: boolean } = {},
): Promise<AttachmentRow | null> {
  const { rows } = await db.query<AttachmentRow>(
    `SELECT ${COLUMNS} FROM attachments WHERE community_id = $1 AND hash = $2${lock ? ' FOR UPDATE' : ''}`,
    [communityId, hash],
  );
  return rows[0] ?? null;
}

/** Bytes a community holds or has declared it will send (complete and unfinished uploads alike). */
export async function declaredBytes(db: Queryable, communityId: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>(
    `SELECT coalesce(sum(size), 0)::bigint AS total FROM attachments WHERE community_id = $1`,
    [communityId],
  );
  return rows[0]?.total ?? 0;
}

export async function insertAttachment(
  tx: Queryable,
  attachment: { communityId: string; hash: string; size: number; name: string | null },
): Promise<AttachmentRow> {
  const { rows } = await tx.query<AttachmentRow>(
    `INSERT INTO attachments (community_id, hash, size, name) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [attachment.communityId, attachment.hash, attachment.size, attachment.name],
  );
  return rows[0]!;
}

/**
 * Declared again: the first name given is kept (a later declaration only
 * fills in a missing one), and an unfinished upload counts as touched, so
 * it does not expire while its sender keeps coming back.
 */
export async function redeclare(
  tx: Queryable,
  communityId: string,
  hash: string,
  name: string | null,
): Promise<AttachmentRow> {
  const { rows } = await tx.query<AttachmentRow>(
    `UPDATE attachments SET name = coalesce(name, $3), updated_at = CASE WHEN complete THEN updated_at ELSE now() END
      WHERE community_id = $1 AND hash = $2 RETURNING ${COLUMNS}`,
    [communityId, hash, name],
  );
  return rows[0]!;
}

/** Back to nothing received (its chunks deleted), expecting `size` bytes. */
export async function restartUpload(
  tx: Queryable,
  communityId: string,
  hash: string,
  size: number,
): Promise<AttachmentRow> {
  await tx.query(`DELETE FROM attachment_chunks WHERE community_id = $1 AND hash = $2`, [communityId, hash]);
  const { rows } = await tx.query<AttachmentRow>(
    `UPDATE attachments SET size = $3, received = 0, type = NULL, complete = false, completed_at = NULL, updated_at = now()
      WHERE community_id = $1 AND hash = $2 RETURNING ${COLUMNS}`,
    [communityId, hash, size],
  );
  return rows[0]!;
}

/**
 * Store `pieces` (each at most 1 MiB) one after another from `start`, and
 * count them as received, in the caller's transaction: both or neither.
 */
export async function appendChunks(
  tx: Queryable,
  communityId: string,
  hash: string,
  start: number,
  pieces: Uint8Array[],
  bucket?: PieceBucket,
): Promise<number> {
  let offset = start;
  for (const piece of pieces) {
    // Into the bucket first: the row (and the count) commit only once the bytes are there.
    if (bucket) await bucket.store.put(pieceKey(bucket.prefix, communityId, hash, offset), piece);
    await tx.query(
      `INSERT INTO attachment_chunks (community_id, hash, start, length, data) VALUES ($1, $2, $3, $4, $5)`,
      [communityId, hash, offset, piece.length, bucket ? null : piece],
    );
    offset += piece.length;
  }
  const { rows } = await tx.query<{ received: number }>(
    `UPDATE attachments SET received = received + $3, updated_at = now()
      WHERE community_id = $1 AND hash = $2 RETURNING received`,
    [communityId, hash, offset - start],
  );
  return rows[0]!.received;
}

interface StoredPiece {
  start: number;
  length: number;
  /** NULL when the bytes are in the bucket. */
  data: Uint8Array | null;
}

async function pieceBytes(
  row: StoredPiece,
  communityId: string,
  hash: string,
  bucket: PieceBucket | undefined,
): Promise<Uint8Array> {
  if (row.data !== null) return row.data;
  if (!bucket)
    throw new Error(`attachment ${hash} is stored in a bucket, and no bucket is configured (ATTACHMENT_STORE)`);
  const bytes = await bucket.store.get(pieceKey(bucket.prefix, communityId, hash, Number(row.start)));
  if (bytes.length !== row.length) {
    throw new Error(
      `piece ${row.start} of attachment ${hash} has ${bytes.length} bytes in the bucket, not ${row.length}`,
    );
  }
  return bytes;
}

/**
 * The stored chunks in order, a few at a time (never the whole file in
 * memory). Complete attachments never change, so pages need no transaction;
 * an upload being verified is read inside the transaction that locks it.
 */
export async function* readChunks(
  db: Queryable,
  communityId: string,
  hash: string,
  rowsPerPage = 2,
  bucket?: PieceBucket,
): AsyncGenerator<{ start: number; data: Uint8Array }> {
  let from = 0;
  for (;;) {
    const { rows } = await db.query<StoredPiece>(
      `SELECT start, length, data FROM attachment_chunks
        WHERE community_id = $1 AND hash = $2 AND start >= $3 ORDER BY start LIMIT $4`,
      [communityId, hash, from, rowsPerPage],
    );
    for (const row of rows) yield { start: row.start, data: await pieceBytes(row, communityId, hash, bucket) };
    if (rows.length < rowsPerPage) return;
    from = rows[rows.length - 1]!.start + 1;
  }
}

export async function markComplete(
  tx: Queryable,
  communityId: string,
  hash: string,
  type: string,
): Promise<AttachmentRow> {
  const { rows } = await tx.query<AttachmentRow>(
    `UPDATE attachments SET type = $3, complete = true, completed_at = now()
      WHERE community_id = $1 AND hash = $2 RETURNING ${COLUMNS}`,
    [communityId, hash, type],
  );
  return rows[0]!;
}

/** The attachment and its chunks (cascade). */
export async function deleteAttachment(tx: Queryable, communityId: string, hash: string): Promise<void> {
  await tx.query(`DELETE FROM attachments WHERE community_id = $1 AND hash = $2`, [communityId, hash]);
}

/**
 * Delete up to `limit` unfinished uploads (rows and chunks) that nobody has
 * declared or sent a piece to for more than `olderThanMs`: one community's,
 * or (null) any. Complete attachments are never touched. An upload whose row
 * another transaction holds (a piece being stored) is skipped: it is being
 * touched. The caller deletes their bucket objects before it commits, while
 * the rows are still locked, so no new piece of a re-declared upload can be
 * written under the same keys first.
 */
export async function deleteExpiredUploads(
  tx: Queryable,
  olderThanMs: number,
  communityId: string | null,
  limit: number,
): Promise<Array<{ communityId: string; hash: string; size: number }>> {
  const { rows } = await tx.query<{ communityId: string; hash: string; size: number }>(
    `WITH expired AS (
       SELECT community_id, hash FROM attachments
        WHERE NOT complete AND updated_at < now() - $1 * interval '1 millisecond'
          AND ($2::uuid IS NULL OR community_id = $2::uuid)
        ORDER BY updated_at LIMIT $3
        FOR UPDATE SKIP LOCKED
     )
     DELETE FROM attachments a USING expired e
      WHERE a.community_id = e.community_id AND a.hash = e.hash
      RETURNING a.community_id AS "communityId", a.hash, a.size`,
    [olderThanMs, communityId, limit],
  );
  return rows.map((row) => ({ ...row, size: Number(row.size) }));
}

/** Every bucket object of one attachment's pieces, also those no chunk row counts (a request that failed after the write). */
export async function deletePieceObjects(bucket: PieceBucket, communityId: string, hash: string): Promise<void> {
  await bucket.store.deleteAll(piecesPrefix(bucket.prefix, communityId, hash));
}

/**
 * The stored bytes from byte `offset` on, in order, a few chunks at a time:
 * the chunk holding `offset` is cut to start there (chunks may be any size
 * up to 1 MiB, so an offset seldom falls on a boundary). For complete
 * attachments (ranged downloads, a hub resuming an upload to the cloud).
 */
export async function* readChunksFrom(
  db: Queryable,
  communityId: string,
  hash: string,
  offset: number,
  rowsPerPage = 2,
  bucket?: PieceBucket,
): AsyncGenerator<{ start: number; data: Uint8Array }> {
  let from = offset;
  for (;;) {
    const { rows } = await db.query<StoredPiece>(
      `SELECT start, length, data FROM attachment_chunks
        WHERE community_id = $1 AND hash = $2 AND start + length > $3 ORDER BY start LIMIT $4`,
      [communityId, hash, from, rowsPerPage],
    );
    for (const row of rows) {
      const start = Number(row.start);
      const data = await pieceBytes(row, communityId, hash, bucket);
      yield start >= from ? { start, data } : { start: from, data: data.subarray(from - start) };
    }
    if (rows.length < rowsPerPage) return;
    const last = rows[rows.length - 1]!;
    from = Number(last.start) + Number(last.length);
  }
}

/** A place in the listing order of complete attachments (migration 600): transaction id, then sequence. */
export interface ListingPosition {
  tx: string;
  seq: string;
}

/**
 * Complete attachments of a community after `after`, in the order they
 * became complete; only those of transactions older than every one still in
 * flight, so one that commits late is listed later, never skipped.
 */
export async function listCompleteAfter(
  db: Queryable,
  communityId: string,
  after: ListingPosition | null,
  limit: number,
): Promise<Array<{ hash: string; size: number; type: string; name: string | null; position: ListingPosition }>> {
  const { rows } = await db.query<{
    hash: string;
    size: number;
    type: string;
    name: string | null;
    tx: string;
    seq: string;
  }>(
    `SELECT a.hash, a.size, a.type, a.name, a.complete_tx::text AS tx, a.complete_seq::text AS seq
       FROM attachments a
      WHERE a.community_id = $1 AND a.complete
        AND (a.complete_tx, a.complete_seq) > ($2::xid8, $3::bigint)
        AND a.complete_tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY a.complete_tx, a.complete_seq
      LIMIT $4`,
    [communityId, after?.tx ?? '0', after?.seq ?? '0', limit],
  );
  return rows.map(({ tx, seq, ...row }) => ({ ...row, size: Number(row.size), position: { tx, seq } }));
}
