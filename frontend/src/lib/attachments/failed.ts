/**
 * Files the server refused for good (attachments/queue decides which
 * answers those are): which refusals count, their reasons in words, and
 * what the person can do about them here: send them again, or remove them
 * from this device. Until then they stay, never sent, never evicted.
 */
import { ApiError } from '$lib/api/client';
import type { AttachmentBlob, LifelineDb, UploadFailure } from '$lib/db';
import type { AttachmentRef } from '@lifeline/core';
import { summarise, thumbnailHashOf } from './store';

/** What an upload answer means for the file. */
export type Verdict =
  /** Not now (offline, signed out, suspended, rate-limited, server trouble): stop the run, all of it waits. */
  | 'stop'
  /** Not this file, ever, as it is: mark it failed. */
  | 'permanent'
  /** Not this file this time (e.g. too many offset corrections): try again at the next sync. */
  | 'later';

/** Codes (backend/src/services/attachments.ts) that no retry of the same bytes can change. */
const PERMANENT_CODES = new Set(['unsupported_type', 'size_mismatch', 'invalid_attachment', 'hash_mismatch']);

export function verdictOf(error: ApiError): Verdict {
  if (error.retryable || error.status === 401 || error.status === 403) return 'stop';
  // 413: the file (attachment_too_large), a piece (payload_too_large) or the community's room (quota_exceeded).
  // 415: a type the server never stores (unsupported_type) or a request it cannot read.
  if (error.status === 413 || error.status === 415 || PERMANENT_CODES.has(error.code)) return 'permanent';
  return 'later';
}

const REASONS: Record<string, string> = {
  unsupported_type: 'the server does not accept this kind of file',
  unsupported_media_type: 'the server could not read how this device sent it',
  attachment_too_large: 'it is larger than the server accepts',
  payload_too_large: 'the server refused the size of its pieces',
  quota_exceeded: "the community's storage on the server is full",
  hash_mismatch: 'it arrived damaged twice',
  size_mismatch: 'the server holds a different file under the same name',
  invalid_attachment: 'the server refused its description',
};

export function failureOf(error: ApiError, at = new Date()): UploadFailure {
  return { code: error.code, reason: REASONS[error.code] ?? error.message, at: at.toISOString() };
}

export async function markFailed(db: LifelineDb, hash: string, failure: UploadFailure): Promise<void> {
  const stored = await db.get('attachments', hash);
  if (stored && !stored.uploaded) await db.put('attachments', { ...stored, failed: failure });
}

export async function failedUploads(db: LifelineDb): Promise<AttachmentBlob[]> {
  const failed: AttachmentBlob[] = [];
  let cursor = await db.transaction('attachments').store.openCursor();
  while (cursor) {
    if (!cursor.value.uploaded && cursor.value.failed) failed.push(cursor.value);
    cursor = await cursor.continue();
  }
  return failed;
}

export interface FailedSummary {
  /** Photos and files (a photo's image and thumbnail count once). */
  count: number;
  photos: number;
  files: number;
  /** The distinct reasons, in words. */
  reasons: string[];
}

export async function failedSummary(db: LifelineDb): Promise<FailedSummary> {
  const failed = await failedUploads(db);
  const { photos, files } = summarise(failed);
  const reasons = [...new Set(failed.map((entry) => entry.failed!.reason))];
  return { count: photos + files, photos, files, reasons };
}

/** Why one of a record's photos could not be sent (its image or its thumbnail), or null. */
export async function uploadFailureOf(db: LifelineDb, ref: AttachmentRef): Promise<UploadFailure | null> {
  for (const hash of new Set([ref.hash, thumbnailHashOf(ref)])) {
    const entry = await db.get('attachments', hash);
    if (entry?.failed && !entry.uploaded) return entry.failed;
  }
  return null;
}

/** Send them again at the next sync (the person may have made room, or the server changed its limits). */
export async function retryFailed(db: LifelineDb): Promise<number> {
  const failed = await failedUploads(db);
  const tx = db.transaction('attachments', 'readwrite');
  for (const entry of failed) {
    const { failed: _dropped, ...rest } = entry;
    await tx.store.put(rest);
  }
  await tx.done;
  return failed.length;
}

/** Remove them from this device (the records still name them; others see "still on its way"). */
export async function removeFailed(db: LifelineDb): Promise<number> {
  const failed = await failedUploads(db);
  const tx = db.transaction('attachments', 'readwrite');
  for (const entry of failed) await tx.store.delete(entry.hash);
  await tx.done;
  return failed.length;
}
