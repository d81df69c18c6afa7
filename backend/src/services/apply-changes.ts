/**
 * Apply validated changes inside one transaction: lock the entities, drop
 * duplicates, merge each change (pure), bring accounts in line with changed
 * user records, turn concurrent edits into conflict records, then write
 * records and the change log with one statement each.
 */
import {
  deepEqual,
  mergeAliasStamps,
  mergeChange,
  newestStamp,
  type Change,
  type ChangeResult,
  type ConflictDraft,
  type RecordState,
} from '@lifeline/core';
import type { ServerContext } from '../context';
import { findExistingChanges, recordChanges, type AcceptedChange } from '../db/changes';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, lockEntities, saveRecords, type EntityKey } from '../db/records';
import { enqueueForUpstream } from '../db/upstream';
import { projectAccounts } from './accounts';
import { newConflicts } from './conflict-records';

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
  const alreadySeen = await findExistingChanges(
    tx,
    communityId,
    items.map(({ change }) => change.changeId),
  );
  const records: Map<string, RecordState> = await loadRecords(tx, communityId, keys);
  const touched = new Set<string>();
  const accepted: AcceptedChange[] = [];
  const results: ApplyOutcome['results'] = [];
  const drafts: ConflictDraft[] = [];
  const nowMs = Date.now();

  for (const { change, index } of items) {
    const key = keyOf(change);
    const current = records.get(key) ?? null;
    const taken = alreadySeen.get(change.changeId);
    if (taken) {
      const result: ChangeResult = { changeId: change.changeId, status: 'duplicate', version: current?.version };
      if (!deepEqual(taken, change.stamps)) {
        result.stamps = taken;
        // Another server clamped this same write differently: remember its stamps too.
        const aliased = current
          ? mergeAliasStamps(current, change, taken, {
              author: change.author ?? options.author,
              origin: change.origin ?? options.origin,
              nowMs,
            })
          : null;
        if (aliased) {
          records.set(key, aliased);
          touched.add(key);
        }
      }
      results.push({ index, result });
      continue;
    }
    const outcome = mergeChange(current, change, {
      author: change.author ?? options.author,
      origin: change.origin ?? options.origin,
      nowMs,
      clampFutureStamps: true,
      clampedStamp: (seen) => (seen ? ctx.clock.receive(seen) : ctx.clock.now()),
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
    alreadySeen.set(change.changeId, outcome.acceptedStamps);
    records.set(key, outcome.record);
    touched.add(key);
    drafts.push(...outcome.conflicts);
    // Fold in what was stored (clamped), never a raw future stamp, or our own clock would run ahead.
    // The newest alone is enough to sort after all of them (and parses one stamp, not one per field).
    const newest = newestStamp(Object.values(outcome.acceptedStamps));
    if (newest) ctx.clock.receive(newest);

    const result: ChangeResult = { changeId: change.changeId, status: outcome.status, version: outcome.record.version };
    if (outcome.conflicts.length > 0) result.conflictIds = outcome.conflicts.map((draft) => draft.id);
    if (outcome.clamped) result.clamped = true;
    // The writer's copy must carry what the server stored, or a clamped stamp would outrank everyone there.
    if (!deepEqual(outcome.acceptedStamps, change.stamps)) result.stamps = outcome.acceptedStamps;
    results.push({ index, result });
    accepted.push({
      // The log keeps stamps and bases as taken here: a hub forwards them, and the cloud must read them alike.
      change: {
        ...change,
        stamps: outcome.acceptedStamps,
        ...(outcome.acceptedBase ? { base: outcome.acceptedBase } : {}),
      },
      author: change.author ?? options.author,
      origin: change.origin ?? options.origin,
      clientId: options.clientId,
      result,
    });
  }

  const changedRecords = [...touched].map((key) => records.get(key)!);
  drafts.push(...(await projectAccounts(ctx, tx, communityId, changedRecords, records)));
  const conflicts = await newConflicts(ctx, tx, communityId, drafts, records);
  for (const record of conflicts.records) records.set(keyOf(record), record);

  await saveRecords(tx, communityId, [...changedRecords, ...conflicts.records]);
  const logged = [...accepted, ...conflicts.changes];
  await recordChanges(tx, communityId, logged);
  if (ctx.config.mode === 'hub') {
    await enqueueForUpstream(
      tx,
      communityId,
      logged.map(({ change }) => change.changeId),
    );
  }
  return { results, conflictsCreated: conflicts.records.length, records };
}
