/**
 * Photos and files: declare, upload in resumable pieces, verify, serve.
 *
 * An attachment is named by the SHA-256 of its bytes, per community, so a
 * file sent twice is stored once. Upload is ours, tus-like: the client
 * declares `{hash, size}`, asks where the upload stands (HEAD), and appends
 * at exactly that offset (PATCH); a lost connection, a reload or a server
 * restart loses at most the piece in flight. Each piece and the count of
 * bytes received commit together, under the attachment's row lock. When the
 * last byte arrives, the stored bytes must hash to the name (else the upload
 * starts over) and sniff as an accepted type (else it is deleted). An
 * upload nobody touches for ATTACHMENT_UPLOAD_EXPIRY_HOURS is deleted, so
 * an abandoned one stops counting against the community's quota.
 */
import { createHash } from 'node:crypto';
import { SHA256_HEX, type AttachmentType } from '@lifeline/core';
import { z } from 'zod';
import type { ServerContext } from '../context';
import type { Queryable } from '../db/database';
import * as store from '../db/attachments';
import { contentDisposition, sniffFileType, SNIFF_BYTES } from '../domain/file-type';
import { AppError, conflict, notFound } from '../errors';

/** Stored pieces are at most this long (a PATCH body may carry several). */
export const CHUNK_BYTES = 1024 * 1024;
/** The largest PATCH body accepted. */
export const MAX_PATCH_BYTES = 4 * 1024 * 1024;

const NAME_PROBLEM = 'name must be 1 to 200 characters without control characters';
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export const attachmentHashSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .refine((value) => SHA256_HEX.test(value), 'hash must be the SHA-256 of the file as 64 hex digits');

export const declarationSchema = z.object({
  hash: attachmentHashSchema,
  size: z
    .number({ message: 'size must be a number of bytes' })
    .int('size must be a whole number of bytes')
    .min(1, 'size must be at least 1 byte'),
  name: z
    .string(NAME_PROBLEM)
    .trim()
    .min(1, NAME_PROBLEM)
    .max(200, NAME_PROBLEM)
    .refine((name) => !CONTROL_CHARACTERS.test(name), NAME_PROBLEM)
    .nullish(),
});
export type Declaration = z.infer<typeof declarationSchema>;

/** An attachment as the API shows it. */
export interface AttachmentView {
  hash: string;
  size: number;
  received: number;
  complete: boolean;
  type: string | null;
  name: string | null;
}

export function attachmentView(row: store.AttachmentRow): AttachmentView {
  return {
    hash: row.hash,
    size: row.size,
    received: row.received,
    complete: row.complete,
    type: row.type,
    name: row.name,
  };
}

/** A refusal that tells the client where the upload really stands, in the body and as `Upload-Offset`. */
const uploadError = (status: number, code: string, message: string, received: number) =>
  new AppError(status, code, message, { offset: received }, { 'Upload-Offset': String(received) });

/**
 * Declare a file about to be sent. An attachment this community already has
 * (complete or under way) is answered as it stands, never stored twice.
 */
export async function declareAttachment(
  ctx: ServerContext,
  communityId: string,
  input: Declaration,
): Promise<{ created: boolean; attachment: AttachmentView }> {
  const { maxBytes, communityMaxBytes } = ctx.config.attachments;
  if (input.size > maxBytes) {
    throw new AppError(
      413,
      'attachment_too_large',
      `a file may be at most ${maxBytes} bytes; this one is ${input.size}`,
    );
  }
  const name = input.name ?? null;
  return ctx.db.transaction(async (tx) => {
    await store.lockCommunityAttachments(tx, communityId);
    // Abandoned uploads go before the quota is counted (and one of this hash is started afresh).
    await expireInTransaction(ctx, tx, communityId);
    const existing = await store.findAttachment(tx, communityId, input.hash, { lock: true });
    if (existing && existing.size === input.size) {
      const touch = !existing.complete || (name !== null && !existing.name);
      const row = touch ? await store.redeclare(tx, communityId, input.hash, name) : existing;
      return { created: false, attachment: attachmentView(row) };
    }
    if (existing?.complete) {
      throw conflict('size_mismatch', `this file is stored here with ${existing.size} bytes, not ${input.size}`);
    }
    const used = (await store.declaredBytes(tx, communityId)) - (existing?.size ?? 0);
    if (used + input.size > communityMaxBytes) {
      throw new AppError(
        413,
        'quota_exceeded',
        `this community's files would take ${used + input.size} bytes; it may hold ${communityMaxBytes}`,
      );
    }
    if (existing) {
      // Unfinished and declared with another size: bytes of the wrong length can never match the hash, so start over.
      const row = await store.restartUpload(tx, communityId, input.hash, input.size);
      await deleteBucketPieces(ctx, communityId, input.hash);
      return { created: false, attachment: attachmentView(name && !row.name ? { ...row, name } : row) };
    }
    const row = await store.insertAttachment(tx, { communityId, hash: input.hash, size: input.size, name });
    return { created: true, attachment: attachmentView(row) };
  });
}

/** Where an upload stands: bytes received so far, of how many. */
export async function uploadStatus(ctx: ServerContext, communityId: string, hash: string) {
  const row = await store.findAttachment(ctx.db, communityId, hash);
  if (!row) throw notFound('attachment');
  return { offset: row.received, length: row.size, complete: row.complete };
}

type Outcome =
  | { kind: 'partial'; row: store.AttachmentRow }
  /** `now`: this request completed it (else it was complete already). */
  | { kind: 'complete'; row: store.AttachmentRow; now: boolean }
  | { kind: 'hash_mismatch'; actual: string }
  | { kind: 'unsupported_type' };

/**
 * Append `bytes` at `offset`. Answers the attachment and whether this was
 * its last piece; refusals are errors, and leave what was stored unharmed
 * (except a completed upload that failed verification: that one is reset or
 * deleted, so a correct re-send can succeed).
 */
export async function appendToUpload(
  ctx: ServerContext,
  communityId: string,
  hash: string,
  offset: number,
  bytes: Uint8Array,
): Promise<{ done: boolean; attachment: AttachmentView }> {
  const outcome = await ctx.db.transaction(async (tx): Promise<Outcome> => {
    const row = await store.findAttachment(tx, communityId, hash, { lock: true });
    if (!row) throw notFound('attachment');
    if (offset !== row.received) {
      throw uploadError(409, 'offset_mismatch', `this upload has ${row.received} bytes; send from there`, row.received);
    }
    if (offset + bytes.length > row.size) {
      throw uploadError(
        400,
        'size_exceeded',
        `this file was declared with ${row.size} bytes; ${offset + bytes.length} would be more`,
        row.received,
      );
    }
    if (row.complete) return { kind: 'complete', row, now: false };
    if (bytes.length > 0) {
      row.received = await store.appendChunks(
        tx,
        communityId,
        hash,
        offset,
        split(bytes, CHUNK_BYTES),
        ctx.attachmentBucket,
      );
    }
    if (row.received < row.size) return { kind: 'partial', row };
    const outcome = await verifyAndComplete(tx, communityId, row, ctx.attachmentBucket);
    // Reset or deleted: its pieces' objects go too, while the row is still locked.
    if (outcome.kind === 'hash_mismatch' || outcome.kind === 'unsupported_type') {
      await deleteBucketPieces(ctx, communityId, hash);
    }
    return outcome;
  });
  if (bytes.length > 0) ctx.metrics.attachmentBytes.inc(bytes.length);
  switch (outcome.kind) {
    case 'partial':
      return { done: false, attachment: attachmentView(outcome.row) };
    case 'complete':
      if (outcome.now) ctx.metrics.attachmentUploads.inc({ outcome: 'complete' });
      return { done: true, attachment: attachmentView(outcome.row) };
    case 'hash_mismatch':
      ctx.metrics.attachmentUploads.inc({ outcome: 'hash_mismatch' });
      throw uploadError(
        422,
        'hash_mismatch',
        `the bytes received hash to ${outcome.actual}, not to ${hash}; the upload starts again from 0`,
        0,
      );
    case 'unsupported_type':
      ctx.metrics.attachmentUploads.inc({ outcome: 'unsupported_type' });
      throw new AppError(415, 'unsupported_type', 'only JPEG, PNG and WebP images and PDF files are accepted');
  }
}

/**
 * ATTACHMENT_STORE=s3: delete the bucket objects of an upload whose chunk
 * rows this transaction deleted. Called with the attachment's row locked (or
 * deleted) and before the commit, so no piece of a new upload of the same
 * hash can be written under those keys in between. A bucket that fails here
 * leaves orphaned objects (logged), never a refused request: the rows are
 * what counts.
 */
async function deleteBucketPieces(ctx: ServerContext, communityId: string, hash: string): Promise<void> {
  if (!ctx.attachmentBucket) return;
  try {
    await store.deletePieceObjects(ctx.attachmentBucket, communityId, hash);
  } catch (error) {
    ctx.log.warn({ err: error, communityId, hash }, 'could not delete the bucket objects of a removed upload');
  }
}

const EXPIRY_BATCH = 100;

/** One batch of expired uploads (one community's or any), bucket objects included; answers how many. */
async function expireInTransaction(ctx: ServerContext, tx: Queryable, communityId: string | null): Promise<number> {
  const expired = await store.deleteExpiredUploads(
    tx,
    ctx.config.attachments.uploadExpiryMs,
    communityId,
    EXPIRY_BATCH,
  );
  for (const upload of expired) await deleteBucketPieces(ctx, upload.communityId, upload.hash);
  if (expired.length > 0) {
    ctx.metrics.attachmentUploadsExpired.inc(expired.length);
    ctx.log.info(
      { uploads: expired.map(({ communityId: community, hash, size }) => ({ community, hash, size })) },
      'deleted abandoned uploads',
    );
  }
  return expired.length;
}

/**
 * The periodic sweep: delete every unfinished upload that nobody declared or
 * sent a piece to for ATTACHMENT_UPLOAD_EXPIRY_HOURS, in every community, a
 * batch per transaction. Complete files are never touched. Answers how many.
 */
export async function expireAbandonedUploads(ctx: ServerContext): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await ctx.db.transaction((tx) => expireInTransaction(ctx, tx, null));
    total += deleted;
    if (deleted < EXPIRY_BATCH) return total;
  }
}

/** How often the server sweeps: a quarter of the expiry age, between a second and an hour. */
export function uploadSweepIntervalMs(uploadExpiryMs: number): number {
  return Math.min(Math.max(Math.round(uploadExpiryMs / 4), 1000), 3_600_000);
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) pieces.push(bytes.subarray(start, start + size));
  return pieces;
}

/** Every byte is in: hash what is stored (a few chunks at a time), then sniff what it is. */
async function verifyAndComplete(
  tx: Queryable,
  communityId: string,
  row: store.AttachmentRow,
  bucket: store.PieceBucket | undefined,
): Promise<Outcome> {
  const digest = createHash('sha256');
  const head: number[] = [];
  let expected = 0;
  for await (const chunk of store.readChunks(tx, communityId, row.hash, undefined, bucket)) {
    // Pieces end to end from 0, or the stored bytes are not the file.
    if (chunk.start !== expected) break;
    digest.update(chunk.data);
    for (let i = 0; head.length < SNIFF_BYTES && i < chunk.data.length; i += 1) head.push(chunk.data[i]!);
    expected += chunk.data.length;
  }
  const actual = digest.digest('hex');
  if (expected !== row.size || actual !== row.hash) {
    await store.restartUpload(tx, communityId, row.hash, row.size);
    return { kind: 'hash_mismatch', actual };
  }
  const type = sniffFileType(Uint8Array.from(head));
  if (!type) {
    await store.deleteAttachment(tx, communityId, row.hash);
    return { kind: 'unsupported_type' };
  }
  return { kind: 'complete', row: await store.markComplete(tx, communityId, row.hash, type), now: true };
}

export type Download =
  | { status: 304; headers: Record<string, string> }
  | { status: 200 | 206; headers: Record<string, string>; body: AsyncIterable<Uint8Array> };

/**
 * `Range: bytes=N-` or `bytes=N-M` (one range; a hub resuming a download):
 * the first and last byte wanted, or null to send the whole file (any other
 * form is ignored, as RFC 9110 allows). Past the end: 416.
 */
export function parseByteRange(header: string | undefined, size: number): { first: number; last: number } | null {
  const match = header === undefined ? null : /^\s*bytes=(\d{1,15})-(\d{1,15})?\s*$/i.exec(header);
  if (!match) return null;
  const first = Number(match[1]);
  const last = match[2] === undefined ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (first >= size || last < first) {
    throw new AppError(
      416,
      'range_not_satisfiable',
      `this file has ${size} bytes`,
      { size },
      {
        'Content-Range': `bytes */${size}`,
      },
    );
  }
  return { first, last };
}

/**
 * A complete attachment's bytes, streamed a chunk at a time, with headers
 * that keep a browser from treating it as anything but what was sniffed.
 */
export async function openDownload(
  ctx: ServerContext,
  communityId: string,
  hash: string,
  ifNoneMatch: string | undefined,
  rangeHeader?: string,
): Promise<Download> {
  const row = await store.findAttachment(ctx.db, communityId, hash);
  if (!row) throw notFound('attachment');
  if (!row.complete) {
    throw conflict('incomplete', `this file is still uploading (${row.received} of ${row.size} bytes)`, {
      received: row.received,
      size: row.size,
    });
  }
  const etag = `"${row.hash}"`;
  // The name is content: these never change, so a browser keeps them as long as it likes.
  const cacheHeaders = { ETag: etag, 'Cache-Control': 'private, max-age=31536000, immutable' };
  if (ifNoneMatch !== undefined && matchesEtag(ifNoneMatch, etag)) return { status: 304, headers: cacheHeaders };
  const range = parseByteRange(rangeHeader, row.size);
  if (range) {
    return {
      status: 206,
      headers: {
        ...cacheHeaders,
        'Accept-Ranges': 'bytes',
        'Content-Type': row.type!,
        'Content-Length': String(range.last - range.first + 1),
        'Content-Range': `bytes ${range.first}-${range.last}/${row.size}`,
        'Content-Disposition': contentDisposition(row.type as AttachmentType, row.name, row.hash),
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
        'Cross-Origin-Resource-Policy': 'same-origin',
      },
      body: sliceTo(
        store.readChunksFrom(ctx.db, communityId, row.hash, range.first, undefined, ctx.attachmentBucket),
        range.last + 1,
      ),
    };
  }
  return {
    status: 200,
    headers: {
      ...cacheHeaders,
      'Accept-Ranges': 'bytes',
      'Content-Type': row.type!,
      'Content-Length': String(row.size),
      'Content-Disposition': contentDisposition(row.type as AttachmentType, row.name, row.hash),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Cross-Origin-Resource-Policy': 'same-origin',
    },
    body: chunkData(store.readChunks(ctx.db, communityId, row.hash, undefined, ctx.attachmentBucket)),
  };
}

async function* chunkData(chunks: AsyncIterable<{ data: Uint8Array }>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) yield chunk.data;
}

/** The chunks' bytes up to (not including) byte `end` of the file. */
async function* sliceTo(
  chunks: AsyncIterable<{ start: number; data: Uint8Array }>,
  end: number,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    if (chunk.start >= end) return;
    yield chunk.start + chunk.data.length > end ? chunk.data.subarray(0, end - chunk.start) : chunk.data;
  }
}

/** Where a listing page ended, as the opaque cursor hubs send back: `<transaction>.<sequence>`. */
const LISTING_CURSOR = /^(\d{1,20})\.(\d{1,20})$/;

export const listingQuerySchema = z.object({
  after: z.string().regex(LISTING_CURSOR, 'after must be a cursor this endpoint gave').nullish(),
  limit: z.coerce
    .number({ message: 'limit must be a number' })
    .int('limit must be a whole number')
    .min(1, 'limit must be 1 to 1000')
    .max(1000, 'limit must be 1 to 1000')
    .default(200),
});

/**
 * Hubs only: the community's complete attachments after the cursor, in the
 * order they became complete, so a hub fetches every file of its community,
 * also those no record names yet.
 */
export async function listAttachments(
  ctx: ServerContext,
  communityId: string,
  query: z.infer<typeof listingQuerySchema>,
): Promise<{
  attachments: Array<{ hash: string; size: number; type: string; name: string | null }>;
  cursor: string | null;
  hasMore: boolean;
}> {
  const match = query.after ? LISTING_CURSOR.exec(query.after) : null;
  const after = match ? { tx: match[1]!, seq: match[2]! } : null;
  // Read down attachments_listing_order, never "all of the community's files, sorted": without
  // fresh statistics the planner guesses a few dozen rows and would sort 100,000 for each page.
  const rows = await ctx.db.transaction((tx) => store.listCompleteAfter(tx, communityId, after, query.limit), {
    orderedScans: true,
  });
  const last = rows[rows.length - 1]?.position ?? after;
  return {
    attachments: rows.map(({ hash, size, type, name }) => ({ hash, size, type, name })),
    cursor: last ? `${last.tx}.${last.seq}` : null,
    hasMore: rows.length === query.limit,
  };
}

/** If-None-Match: `*` or a list of (possibly weak) entity tags, one of them ours. */
export function matchesEtag(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}
