/**
 * Apply validated changes inside one transaction: lock the entities, drop
 * duplicates, merge each change (pure), turn concurrent edits into conflict
 * records, then write records and the change log with one statement each.
 */
import { randomUUID } from 'node:crypto';
import { mergeChange, type Change, type ChangeResult, type ConflictDraft, type RecordState } from '@lifeline/core';
import { findExistingChangeIds, recordChanges, type AcceptedChange } from '../db/changes';
import type { Queryable } from '../db/database';
import { enqueueForUpstream } from '../db/upstream';
import { keyOf, loadRecords, lockEntities, saveRecords, type EntityKey } from '../db/records';
import type { ServerContext } from '../context';

export interface ChangeToApply {
  change: Change;
  /** Index of the change in the request, to put its result in place. */
  index: number;
}

export interface ApplyOptions {
  communityId: string;
  author: string;
  origin: string;
  clientId: string;
}

export interface ApplyOutcome {
  results: Array<{ index: number; result: ChangeResult }>;
  conflictsCreated: number;
  records: Map<string, RecordState>;
}

export async function applyChanges(
  ctx: ServerContext,
  tx: Queryable,
  items: ChangeToApply[],
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  const { communityId } = options;
  const keys: EntityKey[] = items.map(({ change }) => change);
  await lockEntities(tx, communityId, keys);
  const alreadySeen = await findExistingChangeIds(
    tx,
    communityId,
    items.map(({ change }) => change.changeId),
  );
  const records: Map<string, RecordState> = await loadRecords(tx, communityId, keys);
  const touched = new Set<string>();
  const accepted: AcceptedChange[] = [];
  const results: ApplyOutcome['results'] = [];
  const drafts = new Map<string, ConflictDraft>();
  const nowMs = Date.now();

  for (const { change, index } of items) {
    const key = keyOf(change);
    const current = records.get(key) ?? null;
    if (alreadySeen.has(change.changeId)) {
      results.push({ index, result: { changeId: change.changeId, status: 'duplicate', version: current?.version } });
      continue;
    }
    const outcome = mergeChange(current, change, {
      author: change.author ?? options.author,
      origin: change.origin ?? options.origin,
      nowMs,
      clampFutureStamps: true,
    });
    if (!outcome.ok) {
      results.push({
        index,
        result: {
          changeId: change.changeId,
          status: 'rejected',
          error: { code: outcome.code, message: outcome.message },
        },
      });
      continue;
    }
    alreadySeen.add(change.changeId);
    records.set(key, outcome.record);
    touched.add(key);
    for (const draft of outcome.conflicts) drafts.set(draft.id, draft);
    // Fold in what was stored (clamped), never a raw future stamp, or our own clock would run ahead.
    for (const stamp of outcome.writtenStamps) ctx.clock.receive(stamp);

    const result: ChangeResult = { changeId: change.changeId, status: outcome.status, version: outcome.record.version };
    if (outcome.conflicts.length > 0) result.conflictIds = outcome.conflicts.map((draft) => draft.id);
    if (outcome.clamped) result.clamped = true;
    results.push({ index, result });
    accepted.push({
      change,
      author: change.author ?? options.author,
      origin: change.origin ?? options.origin,
      clientId: options.clientId,
      result,
    });
  }

  const conflictRecords = await newConflictRecords(ctx, tx, communityId, [...drafts.values()]);
  for (const record of conflictRecords) records.set(keyOf(record), record);

  await saveRecords(tx, communityId, [...[...touched].map((key) => records.get(key)!), ...conflictRecords]);
  await recordChanges(tx, communityId, accepted);
  if (ctx.config.mode === 'hub') {
    await enqueueForUpstream(
      tx,
      communityId,
      accepted.map(({ change }) => change.changeId),
    );
  }
  return { results, conflictsCreated: conflictRecords.length, records };
}

/** Conflict records for drafts not recorded yet (the same conflict found twice is one record). */
async function newConflictRecords(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  drafts: ConflictDraft[],
): Promise<RecordState[]> {
  if (drafts.length === 0) return [];
  const draftKeys = drafts.map((draft) => ({ entityType: 'conflict', entityId: draft.id }));
  await lockEntities(tx, communityId, draftKeys);
  const existing = await loadRecords(tx, communityId, draftKeys);
  return drafts
    .filter((draft) => !existing.has(keyOf({ entityType: 'conflict', entityId: draft.id })))
    .map((draft) => conflictRecord(ctx, draft));
}

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
  const stamp = ctx.clock.now();
  const stamps: Record<string, string> = {};
  const meta: RecordState['meta'] = {};
  for (const name of Object.keys(fields)) {
    stamps[name] = stamp;
    meta[name] = { changeId: null, author: 'server', origin: ctx.serverId, clientTime: null, base: null };
  }
  return { entityType: 'conflict', entityId: draft.id, fields, stamps, meta, deletedAt: null, version: 1 };
}

/** Stamps of every field of a record: a server change "that saw everything" uses them as its base. */
export function seenEverything(record: RecordState | null): Record<string, string | null> {
  return record ? { ...record.stamps } : {};
}

/** A change written by this server (resolutions, user profiles), stamped with its own clock. */
export function serverChange(
  ctx: ServerContext,
  target: { entityType: string; entityId: string },
  write: { op: 'upsert'; fields: Record<string, unknown> } | { op: 'delete' },
  base: Record<string, string | null>,
): Change {
  const written = write.op === 'delete' ? ['deletedAt'] : Object.keys(write.fields);
  const stamp = ctx.clock.now();
  return {
    changeId: randomUUID(),
    entityType: target.entityType,
    entityId: target.entityId,
    op: write.op,
    ...(write.op === 'upsert' ? { fields: write.fields } : {}),
    stamps: Object.fromEntries(written.map((field) => [field, stamp])),
    base,
    clientTime: new Date().toISOString(),
  };
}
