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
}
