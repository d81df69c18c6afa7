/**
 * The view is server state with pending changes laid over it. Pure functions:
 * the same per-field rule as the server (higher stamp wins), so what a person
 * sees is what the record becomes once the outbox has synced.
 */
import {
  compareStamps,
  DEFAULT_FIELDS,
  DELETED_AT,
  REQUIRED_ON_CREATE,
  stampTime,
  type Change,
  type EntityType,
  type SyncRecord,
} from '@lifeline/core';

export interface ViewRecord extends SyncRecord {
  /** Fields written by changes still in the outbox. */
  pendingFields: string[];
  /** True when the server has never seen this record. */
  localOnly: boolean;
}

export interface PendingChange {
  change: Change;
  userId: string | null;
}

/**
 * Apply one change to a record the way a server would (without conflict
 * bookkeeping): used for the overlay and to keep an accepted push visible
 * until the next pull brings the server's copy.
 */
export function applyChange(record: SyncRecord | null, change: Change, userId: string | null): SyncRecord {
  const next: SyncRecord = record
    ? { ...record, fields: { ...record.fields }, stamps: { ...record.stamps } }
    : {
        entityType: change.entityType as EntityType,
        entityId: change.entityId,
        fields: {},
        stamps: {},
        version: 0,
        deletedAt: null,
        updatedAt: change.clientTime,
      };
  const isCreate = Object.keys(next.stamps).length === 0;

  if (change.op === 'delete') {
    const stamp = change.stamps[DELETED_AT];
    if (stamp && compareStamps(stamp, next.stamps[DELETED_AT]) > 0) {
      next.stamps[DELETED_AT] = stamp;
      next.deletedAt = stampTime(stamp);
    }
    return next;
  }

  const written = Object.entries(change.fields ?? {});
  for (const [field, value] of written) {
    const stamp = change.stamps[field];
    if (!stamp || compareStamps(stamp, next.stamps[field]) <= 0) continue;
    next.stamps[field] = stamp;
    if (field === DELETED_AT) next.deletedAt = (value as string | null) ?? null;
    else next.fields[field] = structuredClone(value);
  }

  if (isCreate && written.length > 0) {
    // Mirror the server's defaults so a pending create looks like a synced one.
    const createStamp = Object.values(change.stamps).sort()[0]!;
    const defaults: Record<string, unknown> = { ...(DEFAULT_FIELDS[next.entityType] ?? {}) };
    if (next.entityType === 'update' || next.entityType === 'document') {
      defaults.createdAt = stampTime(createStamp);
      defaults.createdBy = userId;
    }
    for (const [field, value] of Object.entries(defaults)) {
      if (next.stamps[field] !== undefined) continue;
      next.fields[field] = structuredClone(value);
      next.stamps[field] = createStamp;
    }
  }
  next.updatedAt = change.clientTime;
  return next;
}

/** One record as it should be shown: null when it does not exist (or never did). */
export function overlayRecord(server: SyncRecord | undefined, pending: PendingChange[]): ViewRecord | null {
  let record: SyncRecord | null = server ?? null;
  const pendingFields = new Set<string>();
  for (const { change, userId } of pending) {
    record = applyChange(record, change, userId);
    if (change.op === 'delete') pendingFields.add(DELETED_AT);
    else Object.keys(change.fields ?? {}).forEach((field) => pendingFields.add(field));
  }
  if (!record) return null;
  return { ...record, pendingFields: [...pendingFields], localOnly: !server };
}

/**
 * An edit can reach a server before the record's create does (it was made at
 * another server); until the create arrives the record lacks its required
 * fields, and no screen shows it.
 */
export function isComplete(record: SyncRecord): boolean {
  // Password hashes never reach browsers: an account is complete without one.
  return (REQUIRED_ON_CREATE[record.entityType] ?? []).every(
    (field) => field === 'passwordHash' || record.fields[field] !== undefined,
  );
}

/** All records of one type with the outbox laid over them; deleted and incomplete ones are left out. */
export function overlayAll(
  records: SyncRecord[],
  pending: PendingChange[],
  entityType: EntityType,
  options: { includeDeleted?: boolean } = {},
): ViewRecord[] {
  const byId = new Map<string, PendingChange[]>();
  for (const entry of pending) {
    if (entry.change.entityType !== entityType) continue;
    const list = byId.get(entry.change.entityId) ?? [];
    list.push(entry);
    byId.set(entry.change.entityId, list);
  }
  const result: ViewRecord[] = [];
  for (const record of records) {
    const view = overlayRecord(record, byId.get(record.entityId) ?? []);
    byId.delete(record.entityId);
    if (view && isComplete(view) && (options.includeDeleted || view.deletedAt === null)) result.push(view);
  }
  for (const changes of byId.values()) {
    const view = overlayRecord(undefined, changes);
    if (view && isComplete(view) && (options.includeDeleted || view.deletedAt === null)) result.push(view);
  }
  return result;
}
