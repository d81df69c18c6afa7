/**
 * Photos on this device: their bytes in IndexedDB by SHA-256, what records
 * name (AttachmentRef, a field of the record), and what is still to send.
 */
import type { AttachmentRef } from '@lifeline/core';
import type { AttachmentBlob, LifelineDb } from '$lib/db';
import type { GpsCoordinates } from './exif-gps';

/** Lowercase hex SHA-256 of the bytes: the name the server checks them against. */
export async function sha256Hex(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A photo made ready on this device (re-encoded, hashed), not yet stored. */
export interface PreparedPhoto {
  ref: AttachmentRef;
  full: AttachmentBlob;
  thumbnail: AttachmentBlob;
  /** Where the camera says it was taken: only offered for the update's location, never kept in the bytes. */
  gps?: GpsCoordinates;
}

/** The record's attachments field, whatever a (possibly foreign) record holds there. */
export function attachmentsOf(fields: Record<string, unknown>): AttachmentRef[] {
  const value = fields.attachments;
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is AttachmentRef =>
      typeof item === 'object' && item !== null && typeof (item as { hash?: unknown }).hash === 'string',
  );
}

/** Images show as photos (thumbnail, full on open); anything else (PDFs) is a file to download. */
export function isPhoto(ref: { type: string }): boolean {
  return ref.type.startsWith('image/');
}

/** The blob shown small: the thumbnail when the record names one, else the image itself. */
export function thumbnailHashOf(ref: AttachmentRef): string {
  return ref.thumbnailHash ?? ref.hash;
}

export async function getAttachmentBlob(db: LifelineDb, hash: string): Promise<AttachmentBlob | undefined> {
  return db.get('attachments', hash);
}

/** Keep bytes that came from the server (the server has them: nothing to send). */
export async function storeDownloaded(
  db: LifelineDb,
  hash: string,
  blob: Blob,
  role: AttachmentBlob['role'],
  extra: Pick<AttachmentBlob, 'openedAt' | 'shownSmall'> = {},
): Promise<AttachmentBlob> {
  const entry = downloadedEntry(hash, blob, role, extra);
  await db.put('attachments', entry);
  return entry;
}

export function downloadedEntry(
  hash: string,
  blob: Blob,
  role: AttachmentBlob['role'],
  extra: Pick<AttachmentBlob, 'openedAt' | 'shownSmall'> = {},
): AttachmentBlob {
  return {
    hash,
    blob,
    type: blob.type,
    size: blob.size,
    role,
    uploaded: true,
    storedAt: new Date().toISOString(),
    ...extra,
  };
}

export interface PendingPhotos {
  /** Photos (a full image and its thumbnail count as one) not yet entirely on the server. */
  photos: number;
  /** Other files (PDFs) not yet entirely on the server. */
  files: number;
  /** Bytes still to send, of every pending blob. */
  bytes: number;
}

export async function pendingUploads(db: LifelineDb): Promise<AttachmentBlob[]> {
  const pending: AttachmentBlob[] = [];
  let cursor = await db.transaction('attachments').store.openCursor();
  while (cursor) {
    // A file the server refused for good waits for the person, not for the next sync (attachments/failed).
    if (!cursor.value.uploaded && !cursor.value.failed) pending.push(cursor.value);
    cursor = await cursor.continue();
  }
  return pending;
}

/** How many photos and files wait to be sent (a photo whose thumbnail alone waits counts too). */
export function summarise(pending: AttachmentBlob[]): PendingPhotos {
  const images = pending.filter((entry) => isPhoto(entry));
  // Each photo has one of each, and its thumbnail goes first.
  const full = images.filter((entry) => entry.role === 'full').length;
  return {
    photos: Math.max(full, images.length - full),
    files: pending.length - images.length,
    bytes: pending.reduce((sum, entry) => sum + entry.size, 0),
  };
}

export async function pendingSummary(db: LifelineDb): Promise<PendingPhotos> {
  return summarise(await pendingUploads(db));
}
