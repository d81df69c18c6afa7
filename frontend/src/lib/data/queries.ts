/** Reads for the screens: server records with the outbox laid over them. Works offline. */
import type { EntityType, SyncRecord } from '@lifeline/core';
import type { LifelineDb, OutboxEntry } from '$lib/db';
import { overlayAll, overlayRecord, type ViewRecord } from '$lib/sync/overlay';

export async function listViews(
  db: LifelineDb,
  entityType: EntityType,
  options: { includeDeleted?: boolean } = {},
): Promise<ViewRecord[]> {
  const tx = db.transaction(['records', 'outbox']);
  const [records, outbox] = await Promise.all([
    tx.objectStore('records').index('byType').getAll(entityType),
    tx.objectStore('outbox').getAll(),
  ]);
  await tx.done;
  return overlayAll(records, outbox, entityType, options);
}

/**
 * The newest `count` live records of a type, newest first (as `newestFirst`
 * orders them), read from the byTypeCreated index without loading the rest:
 * the feed's first screen on a device holding thousands of records. Pending
 * changes are laid over as in `listViews`, pending creates included.
 */
export async function newestViews(db: LifelineDb, entityType: EntityType, count: number): Promise<ViewRecord[]> {
  const tx = db.transaction(['records', 'outbox']);
  const records = tx.objectStore('records');
  const page = new Map<string, SyncRecord>();
  // [type, []] sorts after every [type, string]: the range is every createdAt of this type.
  const range = IDBKeyRange.bound([entityType], [entityType, []]);
  for (
    let cursor = await records.index('byTypeCreated').openCursor(range, 'prev');
    cursor && page.size < count;
    cursor = await cursor.continue()
  ) {
    if (cursor.value.deletedAt === null) page.set(cursor.value.entityId, cursor.value);
  }
  const pending = (await tx.objectStore('outbox').getAll()).filter((e) => e.change.entityType === entityType);
  // A pending edit to an older record needs that record, or it would look like a create.
  for (const entityId of new Set(pending.map((e) => e.change.entityId))) {
    if (page.has(entityId)) continue;
    const record = await records.get([entityType, entityId]);
    if (record) page.set(entityId, record);
  }
  await tx.done;
  return overlayAll([...page.values()], pending, entityType).sort(newestFirst).slice(0, count);
}

export async function getView(db: LifelineDb, entityType: EntityType, entityId: string): Promise<ViewRecord | null> {
  const tx = db.transaction(['records', 'outbox']);
  const [record, pending] = await Promise.all([
    tx.objectStore('records').get([entityType, entityId]),
    tx.objectStore('outbox').index('byEntity').getAll([entityType, entityId]),
  ]);
  await tx.done;
  return overlayRecord(record, pending);
}

export async function pendingFor(db: LifelineDb, entityType: EntityType, entityId: string): Promise<OutboxEntry[]> {
  return db.getAllFromIndex('outbox', 'byEntity', [entityType, entityId]);
}

/** Display names by user id, from synced user records (so names show offline too). */
export async function userNames(db: LifelineDb): Promise<Map<string, string>> {
  const users: SyncRecord[] = await db.getAllFromIndex('records', 'byType', 'user');
  return new Map(
    users.map((user) => [user.entityId, String(user.fields.displayName ?? user.fields.email ?? 'Someone')]),
  );
}

/**
 * Newest first, by creation time (pending creates carry their local time);
 * ties by entity id, descending, the order of the byTypeCreated index read
 * backwards, so the first screen and the full list agree.
 */
export function newestFirst(a: ViewRecord, b: ViewRecord): number {
  const left = String(a.fields.createdAt ?? a.updatedAt);
  const right = String(b.fields.createdAt ?? b.updatedAt);
  if (left !== right) return left < right ? 1 : -1;
  return a.entityId < b.entityId ? 1 : a.entityId > b.entityId ? -1 : 0;
}
