/**
 * What the browser keeps in IndexedDB. Records hold server state only; the
 * outbox holds what this device wrote and the server has not yet accepted.
 * The screens show records with the outbox laid over them (see sync/overlay).
 */
import type { DBSchema } from 'idb';
import type { ApiErrorBody, Change, PublicUser, SyncRecord } from '@lifeline/core';

export type RecordKey = [entityType: string, entityId: string];

export interface OutboxEntry {
  /** Auto-increment key: the order changes were made in, and the order they are pushed in. */
  seq?: number;
  change: Change;
  /** Who was signed in when it was written (for display; the server takes the author from the session). */
  userId: string | null;
  /** Not a new edit: a record this device holds, offered again to a restored server (see sync/repull). */
  reoffer?: true;
}

export interface AttentionEntry {
  changeId: string;
  change: Change;
  error: ApiErrorBody;
  at: string;
}

export interface SyncLogEntry {
  id?: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  pushed: number;
  pulled: number;
  rejected: number;
  conflicts: number;
  error: string | null;
}

export interface SyncErrorState {
  code: string;
  message: string;
  at: string;
}

/**
 * A pull from the start after the server refused our cursor because it was
 * restored (or moved): until it reaches the end, each update and document
 * it brings is marked in `repullSeen`; at the end, what was not brought back
 * is offered to the server again.
 */
export interface RepullEpoch {
  id: string;
  startedAt: string;
}

/** A record the current re-pull brought, and the fields this device holds newer than that copy. */
export interface RepullMark {
  entityType: string;
  entityId: string;
  epoch: string;
  /** Per field held here under a newer stamp than the server's: the server's stamp (null: it has none). */
  behind: Record<string, string | null>;
}

/**
 * A photo's or file's bytes on this device (attachments/): the re-encoded
 * image or its thumbnail, or a PDF as it was picked (role 'full', no
 * thumbnail), named by the SHA-256 of the bytes. `uploaded` once the server
 * holds all of it (always true for what was downloaded from the server).
 */
export interface AttachmentBlob {
  hash: string;
  blob: Blob;
  type: string;
  size: number;
  width?: number;
  height?: number;
  /** A file's name as picked (PDFs), sent with its declaration so the server's download carries it. */
  name?: string;
  role: 'full' | 'thumbnail';
  uploaded: boolean;
  /**
   * The server refused it for good (attachments/queue: wrong type, too
   * large, no room, arrived damaged twice): not sent again, nor counted as
   * waiting, until the person retries it or removes it from this device.
   * Optional, so no version upgrade: entries stored before simply lack it.
   */
  failed?: UploadFailure;
  /** When this device stored it (oldest pending goes first). */
  storedAt: string;
  /** When a person last opened it full size here (attachments/budget: the least recently opened go first). */
  openedAt?: string;
  /**
   * Downloaded as what a record shows small (the record names no thumbnail,
   * so the image itself stands in): kept with the thumbnails, outside the
   * offline photo budget.
   */
  shownSmall?: true;
}

export interface UploadFailure {
  /** The server's error code (e.g. unsupported_type, quota_exceeded). */
  code: string;
  /** Why, in words for people. */
  reason: string;
  at: string;
}

/** Every meta key and the type stored under it, so reads and writes stay typed. */
export interface MetaValues {
  clientId: string;
  cursor: string | null;
  hlc: string;
  user: PublicUser | null;
  lastSyncAt: string | null;
  lastAttemptAt: string | null;
  lastError: SyncErrorState | null;
  failures: number;
  authRequired: boolean;
  repullEpoch: RepullEpoch | null;
  /** Bytes of full-size photos kept for offline use (attachments/budget); unset: the default. */
  photoBudgetBytes: number;
}
export type MetaKey = keyof MetaValues;

export interface LifelineSchema extends DBSchema {
  records: {
    key: RecordKey;
    value: SyncRecord;
    /** byTypeCreated: [entityType, fields.createdAt]; records without a createdAt are not in it. */
    indexes: { byType: string; byTypeCreated: [string, string] };
  };
  outbox: { key: number; value: OutboxEntry; indexes: { byEntity: RecordKey } };
  meta: { key: string; value: unknown };
  needsAttention: { key: string; value: AttentionEntry };
  syncLog: { key: number; value: SyncLogEntry };
  repullSeen: { key: RecordKey; value: RepullMark };
  attachments: { key: string; value: AttachmentBlob };
}
