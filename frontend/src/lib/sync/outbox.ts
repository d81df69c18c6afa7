/**
 * Every edit is written here first. A change carries, per written field, a
 * fresh HLC stamp and the stamp of the value the person saw (its base), so
 * the server can tell a follow-up edit from a concurrent one.
 *
 * The clock lives in the meta store and is advanced in the same transaction
 * as the outbox write, so two tabs never issue the same stamp.
 */
import { DELETED_AT, HybridLogicalClock, newId, type Change, type EntityType } from '@lifeline/core';
import { getMetaIn, setMetaIn, type AttachmentBlob, type LifelineDb, type OutboxEntry } from '$lib/db';
import { wallClockOf } from './wall-clock';

export interface FieldWrite {
  entityType: EntityType;
  entityId: string;
  /** Only the fields this edit changes. */
  fields: Record<string, unknown>;
  /** Stamp of each written field's value as shown to the person (null: none shown, e.g. a create). */
  seen: Record<string, string | null | undefined>;
  /** Photo bytes the edit's attachments name, kept in the same transaction as the change. */
  blobs?: AttachmentBlob[];
}

export interface DeleteWrite {
  entityType: EntityType;
  entityId: string;
  /** Stamps of every field the person saw, including deletedAt (null when not deleted). */
  seen: Record<string, string | null | undefined>;
}

async function enqueue(
  db: LifelineDb,
  userId: string | null,
  build: (stamp: string, clientTime: string) => Change,
  blobs: AttachmentBlob[] = [],
): Promise<Change> {
  const tx = db.transaction(['meta', 'outbox', 'attachments'], 'readwrite');
  try {
    for (const blob of blobs) {
      // Already here (the same photo twice, or downloaded): keep what is stored, with its upload state.
      if (!(await tx.objectStore('attachments').getKey(blob.hash))) await tx.objectStore('attachments').put(blob);
    }
    let clientId = await getMetaIn(tx, 'clientId');
    if (!clientId) {
      clientId = crypto.randomUUID();
      await setMetaIn(tx, 'clientId', clientId);
    }
    const wallClock = wallClockOf(db);
    const clock = new HybridLogicalClock(clientId, wallClock, (await getMetaIn(tx, 'hlc')) ?? null);
    const stamp = clock.now();
    await setMetaIn(tx, 'hlc', stamp);
    const change = build(stamp, new Date(wallClock()).toISOString());
    const entry: OutboxEntry = { change, userId };
    await tx.objectStore('outbox').add(entry);
    await tx.done;
    return change;
  } catch (error) {
    // A throw in our own code would not undo the requests already made: the
    // blobs would stay with no change naming them. Undo them all.
    tx.done.catch(() => undefined);
    try {
      tx.abort();
    } catch {
      // Already aborted (a failed request aborts it by itself).
    }
    throw error;
  }
}

type Target = { entityType: string; entityId: string };

/** An upsert writing `fields`, each under its stamp in `stamps`, each having seen its `base`. */
function upsertChange(
  target: Target,
  fields: Record<string, unknown>,
  stamps: Record<string, string>,
  base: Record<string, string | null>,
  clientTime: string,
): Change {
  return {
    changeId: newId(),
    entityType: target.entityType,
    entityId: target.entityId,
    op: 'upsert',
    fields: structuredClone(fields),
    stamps,
    base,
    clientTime,
  };
}

/** A delete under `stamp`, having seen `seen` (see deleteRecord). */
function deleteChange(
  target: Target,
  stamp: string,
  seen: Record<string, string | null | undefined>,
  clientTime: string,
): Change {
  const base: Record<string, string | null> = {};
  for (const [field, seenStamp] of Object.entries(seen)) base[field] = seenStamp ?? null;
  base[DELETED_AT] = seen[DELETED_AT] ?? null;
  return {
    changeId: newId(),
    entityType: target.entityType,
    entityId: target.entityId,
    op: 'delete',
    stamps: { [DELETED_AT]: stamp },
    base,
    clientTime,
  };
}

/** Create or edit: one change writing the given fields. */
export function writeFields(db: LifelineDb, userId: string | null, write: FieldWrite): Promise<Change> {
  const names = Object.keys(write.fields);
  if (names.length === 0) throw new Error('nothing to write');
  return enqueue(
    db,
    userId,
    (stamp, clientTime) =>
      upsertChange(
        write,
        write.fields,
        Object.fromEntries(names.map((name) => [name, stamp])),
        Object.fromEntries(names.map((name) => [name, write.seen[name] ?? null])),
        clientTime,
      ),
    write.blobs,
  );
}

/**
 * A tombstone. `base` holds deletedAt's base and, as the server's extension
 * asks, the stamps of every field the deleter saw, so an edit the deleter did
 * not see becomes a conflict rather than vanishing.
 */
export function deleteRecord(db: LifelineDb, userId: string | null, write: DeleteWrite): Promise<Change> {
  return enqueue(db, userId, (stamp, clientTime) => deleteChange(write, stamp, write.seen, clientTime));
}

/** Only the fields whose value differs from what was shown: an edit never rewrites untouched fields. */
export function changedFields(
  shown: Record<string, unknown>,
  edited: Record<string, unknown>,
): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(edited)) {
    if (JSON.stringify(shown[field] ?? null) !== JSON.stringify(value ?? null)) changed[field] = value;
  }
  return changed;
}

export async function listOutbox(db: LifelineDb): Promise<OutboxEntry[]> {
  return db.getAll('outbox');
}

export async function outboxSummary(db: LifelineDb): Promise<{ count: number; oldest: string | null }> {
  const tx = db.transaction('outbox');
  const count = await tx.store.count();
  const first = await tx.store.openCursor();
  await tx.done;
  return { count, oldest: first?.value.change.clientTime ?? null };
}
