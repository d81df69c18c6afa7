/**
 * Files the server refused for good (attachments/queue decides which
 * answers those are): which refusals count, their reasons in words, and
 * what the person can do about them here: send them again, or remove them
 * from this device. Until then they stay, never sent, never evicted.
 */
import { ApiError } from '$lib/api/client';
import type { AttachmentBlob, LifelineDb, UploadFailure } from '$lib/db';
import type { AttachmentRef } from '@lifeline/core';
import { overlayRecord, type ViewRecord } from '$lib/sync/overlay';
import { writeFields } from '$lib/sync/outbox';
import { attachmentsOf, isPhoto, summarise, thumbnailHashOf } from './store';

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
export async function retryFailed(db: LifelineDb, hashes?: readonly string[]): Promise<number> {
  const failed = (await failedUploads(db)).filter((entry) => !hashes || hashes.includes(entry.hash));
  const tx = db.transaction('attachments', 'readwrite');
  for (const entry of failed) {
    const { failed: _dropped, ...rest } = entry;
    await tx.store.put(rest);
  }
  await tx.done;
  return failed.length;
}

/** Every record of a type as this device shows it, incomplete and deleted ones too (they may name a file as well). */
async function everyView(db: LifelineDb, entityType: 'update' | 'document'): Promise<ViewRecord[]> {
  const tx = db.transaction(['records', 'outbox']);
  const [records, outbox] = await Promise.all([
    tx.objectStore('records').index('byType').getAll(entityType),
    tx.objectStore('outbox').getAll(),
  ]);
  await tx.done;
  const pending = new Map<string, typeof outbox>();
  for (const entry of outbox) {
    if (entry.change.entityType !== entityType) continue;
    pending.set(entry.change.entityId, [...(pending.get(entry.change.entityId) ?? []), entry]);
  }
  const views: ViewRecord[] = [];
  for (const record of records) {
    const view = overlayRecord(record, pending.get(record.entityId) ?? []);
    pending.delete(record.entityId);
    if (view) views.push(view);
  }
  for (const changes of pending.values()) {
    const view = overlayRecord(undefined, changes);
    if (view) views.push(view);
  }
  return views;
}

/** One photo or file that could not be sent, as the person sees it: a photo's image and thumbnail together. */
export interface FailedItem {
  /** The failed bytes (the image, its thumbnail or both): what retryFailed and removeFailed take. */
  hashes: string[];
  photo: boolean;
  /** A file's name as picked, when a record gives one. */
  name?: string;
  /** The title of a record naming it. */
  title?: string;
  reason: string;
}

/** Each failed photo or file on its own, so the person can send or remove one and keep the rest. */
export async function failedItems(db: LifelineDb): Promise<FailedItem[]> {
  const failed = await failedUploads(db);
  if (failed.length === 0) return [];
  const byHash = new Map(failed.map((entry) => [entry.hash, entry]));
  const items = new Map<string, FailedItem>();
  const claimed = new Set<string>();
  for (const entityType of ['update', 'document'] as const) {
    for (const view of await everyView(db, entityType)) {
      for (const ref of attachmentsOf(view.fields)) {
        const hashes = [...new Set([ref.hash, thumbnailHashOf(ref)])].filter((hash) => byHash.has(hash));
        if (hashes.length === 0 || items.has(ref.hash)) continue;
        hashes.forEach((hash) => claimed.add(hash));
        const title = typeof view.fields.title === 'string' ? view.fields.title : undefined;
        items.set(ref.hash, {
          hashes,
          photo: isPhoto(ref),
          ...(ref.name ? { name: ref.name } : {}),
          ...(title ? { title } : {}),
          reason: byHash.get(hashes[0]!)!.failed!.reason,
        });
      }
    }
  }
  for (const entry of failed) {
    if (claimed.has(entry.hash)) continue;
    items.set(entry.hash, {
      hashes: [entry.hash],
      photo: isPhoto(entry),
      ...(entry.name ? { name: entry.name } : {}),
      reason: entry.failed!.reason,
    });
  }
  return [...items.values()];
}

/**
 * Remove them from this device, and from every update and document naming
 * them (as the image or the thumbnail): each gets an ordinary edit of its
 * `attachments` field without those entries, through the outbox with the
 * stamp it was seen at as its base, so others stop waiting for them. The
 * other half of such a photo (its thumbnail or image) goes too unless sent.
 * `hashes`: only these (default: every failed file).
 */
export async function removeFailed(db: LifelineDb, userId: string | null, hashes?: readonly string[]): Promise<number> {
  const failed = (await failedUploads(db)).filter((entry) => !hashes || hashes.includes(entry.hash));
  if (failed.length === 0) return 0;
  const gone = new Set(failed.map((entry) => entry.hash));
  const names = (ref: AttachmentRef) => gone.has(ref.hash) || gone.has(thumbnailHashOf(ref));
  const alsoGone = new Set<string>();
  for (const entityType of ['update', 'document'] as const) {
    for (const view of await everyView(db, entityType)) {
      const refs = attachmentsOf(view.fields);
      const kept = refs.filter((ref) => !names(ref));
      if (kept.length === refs.length) continue;
      for (const ref of refs) if (names(ref)) for (const hash of [ref.hash, thumbnailHashOf(ref)]) alsoGone.add(hash);
      await writeFields(db, userId, {
        entityType,
        entityId: view.entityId,
        fields: { attachments: kept },
        seen: view.stamps,
      });
    }
  }
  const tx = db.transaction('attachments', 'readwrite');
  for (const hash of new Set([...gone, ...alsoGone])) {
    const entry = await tx.store.get(hash);
    if (entry && (gone.has(hash) || !entry.uploaded)) await tx.store.delete(hash);
  }
  await tx.done;
  return failed.length;
}
