/**
 * Merge record states pulled from the cloud into this hub: per field, the
 * higher stamp wins (commutative, idempotent), so the hub converges with the
 * cloud whatever order things arrive in. Records pulled are never queued
 * upstream again, and unchanged ones are not rewritten (no echo to browsers).
 * Accounts follow the user records that came down.
 */
import {
  deepEqual,
  fieldsHeldNewer,
  isEntityType,
  isStamp,
  mergeRecordStates,
  type RecordState,
  type SyncRecord,
} from '@lifeline/core';
import type { ServerContext } from '../context';
import { recordChanges } from '../db/changes';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, lockEntities, saveRecords } from '../db/records';
import { enqueueForUpstream } from '../db/upstream';
import { HUB_REOFFERED_TYPES, noteSeen, type Behind } from '../db/upstream-repull';
import { projectAccounts } from './accounts';
import { newConflicts } from './conflict-records';

export type RemoteRecord = SyncRecord & { meta?: RecordState['meta'] };

export async function mergeRemoteRecords(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  remote: RemoteRecord[],
  /** During a re-pull from a restored cloud: note what this hub holds newer than each record sent. */
  { repull = false }: { repull?: boolean } = {},
): Promise<number> {
  const incoming = remote.filter((record) => isEntityType(record.entityType));
  await lockEntities(tx, communityId, incoming);
  const local: Map<string, RecordState> = await loadRecords(tx, communityId, incoming);
  const changed: RecordState[] = [];
  const seen: Array<{ entityType: string; entityId: string; behind: Behind }> = [];
  let newest: string | null = null;
  for (const record of incoming) {
    const state: RecordState = {
      entityType: record.entityType,
      entityId: record.entityId,
      fields: record.fields,
      stamps: record.stamps,
      meta: record.meta ?? {},
      deletedAt: record.deletedAt,
      version: record.version,
    };
    const before = local.get(keyOf(record)) ?? null;
    if (repull && HUB_REOFFERED_TYPES.includes(record.entityType)) {
      seen.push({ entityType: record.entityType, entityId: record.entityId, behind: fieldsHeldNewer(before, state) });
    }
    const merged = mergeRecordStates(before, state);
    // Only a well-formed stamp may stand for the page (an unreadable one would sort above every real one).
    for (const stamp of Object.values(record.stamps)) {
      if ((newest === null || stamp > newest) && isStamp(stamp)) newest = stamp;
    }
    const unchanged =
      before &&
      deepEqual(before.stamps, merged.stamps) &&
      before.deletedAt === merged.deletedAt &&
      deepEqual(before.meta, merged.meta);
    if (unchanged) continue;
    local.set(keyOf(record), merged);
    changed.push(merged);
  }
  // Our next stamps sort after everything that came down: the newest stamp of the page is enough.
  if (newest) ctx.clock.receive(newest);
  await saveRecords(tx, communityId, changed);
  await noteSeen(tx, communityId, seen);

  // Accounts that came down may share an email with one made here during the outage.
  const drafts = await projectAccounts(ctx, tx, communityId, changed, local);
  const conflicts = await newConflicts(ctx, tx, communityId, drafts, local);
  if (conflicts.records.length > 0) {
    await saveRecords(tx, communityId, conflicts.records);
    await recordChanges(tx, communityId, conflicts.changes);
    await enqueueForUpstream(
      tx,
      communityId,
      conflicts.changes.map(({ change }) => change.changeId),
    );
  }
  return changed.length;
}
