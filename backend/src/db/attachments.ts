/**
 * Attachments and their bytes (migration 500): one row per file per
 * community, the bytes in chunks of at most 1 MiB keyed by their offset.
 * Works the same on pg (bytea as Buffer) and PGlite (bytea as Uint8Array).
 */
import type { Queryable } from './database';

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

/** The first name given is kept; a later declaration only fills in a missing one. */
export async function fillInName(
  tx: Queryable,
  communityId: string,
  hash: string,
  name: string,
): Promise<AttachmentRow> {
  const { rows } = await tx.query<AttachmentRow>(
    `UPDATE attachments SET name = coalesce(name, $3) WHERE community_id = $1 AND hash = $2 RETURNING ${COLUMNS}`,
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
    `UPDATE attachments SET size = $3, received = 0, type = NULL, complete = false, completed_at = NULL
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
): Promise<number> {
  let offset = start;
  for (const piece of pieces) {
    await tx.query(`INSERT INTO attachment_chunks (community_id, hash, start, data) VALUES ($1, $2, $3, $4)`, [
      communityId,
      hash,
      offset,
      piece,
    ]);
    offset += piece.length;
  }
  const { rows } = await tx.query<{ received: number }>(
    `UPDATE attachments SET received = received + $3 WHERE community_id = $1 AND hash = $2 RETURNING received`,
    [communityId, hash, offset - start],
  );
  return rows[0]!.received;
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
): AsyncGenerator<{ start: number; data: Uint8Array }> {
  let from = 0;
  for (;;) {
    const { rows } = await db.query<{ start: number; data: Uint8Array }>(
      `SELECT start, data FROM attachment_chunks
        WHERE community_id = $1 AND hash = $2 AND start >= $3 ORDER BY start LIMIT $4`,
      [communityId, hash, from, rowsPerPage],
    );
    for (const row of rows) yield row;
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
