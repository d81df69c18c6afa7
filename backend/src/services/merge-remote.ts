/**
 * Merge record states pulled from the cloud into this hub: per field, the
 * higher stamp wins (commutative, idempotent), so the hub converges with the
 * cloud whatever order things arrive in. Records pulled are never queued
 * upstream again, and unchanged ones are not rewritten (no echo to browsers).
 */
import {
  deepEqual,
  isEntityType,
  mergeRecordStates,
  userFieldSchemas,
  type RecordState,
  type SyncRecord,
} from '@lifeline/core';
import { z } from 'zod';
import type { ServerContext } from '../context';
import type { Queryable } from '../db/database';
import { keyOf, loadRecords, lockEntities, saveRecords } from '../db/records';
import { upsertUserFromCloud } from '../db/users';

const cloudUserSchema = z.object({
  email: userFieldSchemas.email,
  displayName: userFieldSchemas.displayName,
  role: userFieldSchemas.role,
  disabled: userFieldSchemas.disabled,
  passwordHash: userFieldSchemas.passwordHash,
});

export type RemoteRecord = SyncRecord & { meta?: RecordState['meta'] };

export async function mergeRemoteRecords(
  ctx: ServerContext,
  tx: Queryable,
  communityId: string,
  remote: RemoteRecord[],
): Promise<number> {
  const incoming = remote.filter((record) => isEntityType(record.entityType));
  await lockEntities(tx, communityId, incoming);
  const local: Map<string, RecordState> = await loadRecords(tx, communityId, incoming);
  const changed: RecordState[] = [];
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
    const merged = mergeRecordStates(before, state);
    for (const stamp of Object.values(record.stamps)) ctx.clock.receive(stamp);
    if (before && deepEqual(before.stamps, merged.stamps) && before.deletedAt === merged.deletedAt) continue;
    local.set(keyOf(record), merged);
    changed.push(merged);
    if (merged.entityType === 'user') {
      const profile = cloudUserSchema.safeParse(merged.fields);
      if (profile.success) await upsertUserFromCloud(tx, { id: merged.entityId, communityId, ...profile.data });
    }
  }
  await saveRecords(tx, communityId, changed);
  return changed.length;
}
