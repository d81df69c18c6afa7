/**
 * Conflict records made by this server. Each is also logged as a change, so
 * a hub forwards the conflicts it found to the cloud like any write (the
 * cloud may not meet the same pair of writes in the same order).
 */
import { compareStamps, newId, type Change, type ConflictDraft, type RecordState } from '@lifeline/core';
import type { ServerContext } from '../context';
import type { AcceptedChange } from '../db/changes';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, lockEntities } from '../db/records';

export interface NewConflicts {
  records: RecordState[];
  /** One creation change per record, for the change log (and a hub's upstream queue). */
  changes: AcceptedChange[];
}

/** Conflict records for drafts not recorded yet (the same conflict found twice is one record). */
export async function newConflicts(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  drafts: ConflictDraft[],
  known: ReadonlyMap<string, RecordState> = new Map(),
): Promise<NewConflicts> {
  const unique = [...new Map(drafts.map((draft) => [draft.id, draft])).values()];
  if (unique.length === 0) return { records: [], changes: [] };
  const keys = unique.map((draft) => ({ entityType: 'conflict', entityId: draft.id }));
  await lockEntities(tx, communityId, keys);
  const existing = await loadRecords(tx, communityId, keys);
  const records = unique
    .filter((draft) => {
      const key = keyOf({ entityType: 'conflict', entityId: draft.id });
      return !existing.has(key) && !known.has(key);
    })
    .map((draft) => conflictRecord(ctx, draft));
  return { records, changes: records.map((record) => creationChange(ctx, record)) };
}

/**
 * The record of a conflict. Its stamps come from the conflict itself (the
 * newer of the two writes), not from this server's clock: the hub and the
 * cloud that find the same conflict make the same record, and a
 * resolution, stamped later, always wins over a late copy of the creation.
 */
export function conflictRecord(ctx: ServerContext, draft: ConflictDraft): RecordState {
  const fields: Record<string, unknown> = {
    entityType: draft.entityType,
    entityId: draft.entityId,
    field: draft.field,
    status: 'open',
    values: draft.values,
    resolvedBy: null,
    resolvedAt: null,
    resolution: null,
  };
  const stamp = draft.values.map((value) => value.stamp).reduce((a, b) => (compareStamps(a, b) >= 0 ? a : b));
  const stamps: Record<string, string> = {};
  const meta: RecordState['meta'] = {};
  for (const name of Object.keys(fields)) {
    stamps[name] = stamp;
    meta[name] = { changeId: null, author: 'server', origin: ctx.serverId, clientTime: null, base: null };
  }
  return { entityType: 'conflict', entityId: draft.id, fields, stamps, meta, deletedAt: null, version: 1 };
}

function creationChange(ctx: ServerContext, record: RecordState): AcceptedChange {
  const change: Change = {
    changeId: newId(),
    entityType: 'conflict',
    entityId: record.entityId,
    op: 'upsert',
    fields: record.fields,
    stamps: record.stamps,
    base: Object.fromEntries(Object.keys(record.stamps).map((field) => [field, null])),
    clientTime: new Date().toISOString(),
  };
  for (const meta of Object.values(record.meta)) meta.changeId = change.changeId;
  return {
    change,
    author: 'server',
    origin: ctx.serverId,
    clientId: 'server',
    result: { changeId: change.changeId, status: 'applied', version: 1 },
  };
}
