/** Coordinators list open conflicts and resolve them; a resolution is a new change that wins by stamp. */
import {
  roleAtLeast,
  conflictResolutionSchema,
  DELETED_AT,
  FIELD_SCHEMAS,
  isEntityType,
  type ConflictResolution,
  type ConflictView,
  type RecordState,
} from '@lifeline/core';
import type { ServerContext } from '../context';
import { keyOf, listRecordsOfType, loadRecords, lockEntities } from '../db/records';
import type { Queryable } from '../db/database';
import { findUserByEmail, lockEmails } from '../db/users';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import type { Principal } from '../principal';
import { applyChanges } from './apply-changes';
import { noteWrite, readDatabase } from './reads';
import { seenEverything, serverChange } from './server-changes';
import { toWire } from './sync';

export function toConflictView(record: RecordState): ConflictView {
  const f = record.fields;
  return {
    id: record.entityId,
    entityType: String(f.entityType),
    entityId: String(f.entityId),
    field: String(f.field),
    status: f.status === 'resolved' ? 'resolved' : 'open',
    values: (f.values as ConflictView['values']) ?? [],
    resolvedBy: (f.resolvedBy as string | null) ?? null,
    resolvedAt: (f.resolvedAt as string | null) ?? null,
    resolution: (f.resolution as ConflictResolution | null) ?? null,
  };
}

export async function listConflicts(ctx: ServerContext, principal: Principal, status: 'open' | 'resolved' | 'all') {
  const records = await listRecordsOfType(readDatabase(ctx, principal), principal.communityId, 'conflict', {
    openConflictsOnly: status === 'open',
  });
  const views = records.map(toConflictView);
  return status === 'resolved' ? views.filter((view) => view.status === 'resolved') : views;
}

export function parseResolution(body: unknown): ConflictResolution {
  const parsed = conflictResolutionSchema.safeParse(body);
  if (!parsed.success) throw badRequest('invalid_resolution', 'send {"value": ...} or {"deleted": true}');
  return parsed.data;
}

export async function resolveConflict(
  ctx: ServerContext,
  principal: Principal & { kind: 'user' },
  conflictId: string,
  resolution: ConflictResolution,
) {
  const { communityId } = principal;
  noteWrite(ctx, principal);
  const result = await ctx.db.transaction(async (tx) => {
    const conflictKey = { entityType: 'conflict', entityId: conflictId };
    await lockEntities(tx, communityId, [conflictKey]);
    const conflictRecord = (await loadRecords(tx, communityId, [conflictKey])).get(keyOf(conflictKey));
    if (!conflictRecord || conflictRecord.deletedAt) throw notFound('conflict');
    const view = toConflictView(conflictRecord);
    if (view.status === 'resolved') throw conflict('already_resolved', 'this conflict has already been resolved');
    if (!isEntityType(view.entityType)) throw notFound('conflicted record');
    if (view.entityType === 'user') await checkAccountResolution(tx, principal, view, resolution);

    const targetKey = { entityType: view.entityType, entityId: view.entityId };
    const target = (await loadRecords(tx, communityId, [targetKey])).get(keyOf(targetKey)) ?? null;
    const targetChange = serverChange(ctx, targetKey, resolutionWrite(view, resolution), seenEverything(target));
    const resolvedAt = new Date().toISOString();
    const conflictChange = serverChange(
      ctx,
      conflictKey,
      { op: 'upsert', fields: { status: 'resolved', resolvedBy: principal.userId, resolvedAt, resolution } },
      seenEverything(conflictRecord),
    );
    const outcome = await applyChanges(
      ctx,
      tx,
      [
        { change: targetChange, index: 0 },
        { change: conflictChange, index: 1 },
      ],
      { communityId, author: principal.userId, origin: ctx.serverId, clientId: `resolve:${principal.sessionId}` },
    );
    const rejected = outcome.results.find(({ result }) => result.status === 'rejected');
    if (rejected) throw badRequest('invalid_resolution', rejected.result.error?.message ?? 'resolution rejected');
    return {
      conflict: toConflictView(outcome.records.get(keyOf(conflictKey))!),
      record: toWire(outcome.records.get(keyOf(targetKey))!, principal),
    };
  });
  ctx.metrics.conflicts.inc({ event: 'resolved' });
  return result;
}

/**
 * Accounts are admins' business. An email conflict is settled by giving the
 * held account an email nobody else signs in with, or by removing it.
 */
async function checkAccountResolution(
  tx: Queryable,
  principal: Principal & { kind: 'user' },
  view: ConflictView,
  resolution: ConflictResolution,
): Promise<void> {
  if (!roleAtLeast(principal.role, 'admin')) throw forbidden('conflicts about accounts are settled by an admin');
  if (view.field !== 'email' || !('value' in resolution) || typeof resolution.value !== 'string') return;
  await lockEmails(tx, [resolution.value]);
  const holder = await findUserByEmail(tx, resolution.value);
  if (holder && holder.id !== view.entityId) {
    throw conflict(
      'email_taken',
      'another account signs in with this email: choose a different one or remove this account',
    );
  }
}

/** What the resolution writes to the conflicted record. */
function resolutionWrite(
  view: ConflictView,
  resolution: ConflictResolution,
): { op: 'upsert'; fields: Record<string, unknown> } | { op: 'delete' } {
  if (view.field === DELETED_AT) {
    const keepDeleted =
      'deleted' in resolution ? resolution.deleted : resolution.value !== null && resolution.value !== false;
    return keepDeleted ? { op: 'delete' } : { op: 'upsert', fields: { [DELETED_AT]: null } };
  }
  if ('deleted' in resolution) {
    if (resolution.deleted) return { op: 'delete' };
    throw badRequest('invalid_resolution', 'send {"value": ...} to choose a value for this field');
  }
  const schema = FIELD_SCHEMAS[view.entityType as keyof typeof FIELD_SCHEMAS]?.[view.field];
  const parsed = schema?.safeParse(resolution.value);
  if (!parsed?.success) {
    throw badRequest('invalid_field', `${view.field}: ${parsed?.error.issues[0]?.message ?? 'not a valid value'}`);
  }
  return { op: 'upsert', fields: { [view.field]: parsed.data } };
}
