/**
 * After the server was restored from a backup (or its database moved), it
 * refuses our cursor and we pull everything again. It may have lost writes
 * made after the backup that this device holds, its own or pulled from
 * others; kept only here, they would never reach anyone else. So the re-pull
 * is an epoch, kept in meta (a reload or a failed page resumes it): each
 * update and document it brings is marked with what this device holds newer
 * than the server's copy, and when it reaches the end, whatever the server
 * did not bring back, or brought back older, goes to the outbox as a
 * re-offer (`reofferChanges` in core/src/reoffer.ts) and out with the next push.
 *
 * Only for a server that says it is this same data restored (`restored` on
 * `cursor_mismatch`) or that cannot read our cursor. A device that moved to
 * another server (a hub, the cloud) must not offer it everything the other
 * one had: that travels between the servers, with its real authors.
 */
import { fieldsHeldNewer, reofferChanges, roleAtLeast, type SyncRecord } from '@lifeline/core';
import type { IDBPTransaction } from 'idb';
import { getMetaIn, setMetaIn, type LifelineDb, type LifelineSchema, type RepullEpoch } from '$lib/db';

export type RepullTx = IDBPTransaction<LifelineSchema, ('records' | 'meta' | 'repullSeen' | 'outbox')[], 'readwrite'>;

/** The types a device may hold that the server could have lost and a member may write. */
const REOFFERED_TYPES = ['update', 'document'] as const;

/**
 * Pull again from the start. With `reoffer`, a new epoch begins (a second
 * restore during one abandons the first: its marks describe a server that
 * is gone); without, any epoch ends, and nothing is offered again.
 */
export async function restartPull(db: LifelineDb, reoffer: boolean): Promise<RepullEpoch | null> {
  const tx = db.transaction(['meta', 'repullSeen'], 'readwrite');
  const epoch = reoffer ? { id: crypto.randomUUID(), startedAt: new Date().toISOString() } : null;
  await Promise.all([
    tx.objectStore('repullSeen').clear(),
    setMetaIn(tx, 'cursor', null),
    setMetaIn(tx, 'repullEpoch', epoch),
  ]);
  await tx.done;
  return epoch;
}

export async function currentEpoch(tx: RepullTx): Promise<RepullEpoch | null> {
  return (await getMetaIn(tx, 'repullEpoch')) ?? null;
}

/** Note that the epoch's re-pull brought `remote` (merged here into `local`). */
export function markSeen(tx: RepullTx, epoch: RepullEpoch, local: SyncRecord, remote: SyncRecord): Promise<unknown> {
  if (!(REOFFERED_TYPES as readonly string[]).includes(remote.entityType)) return Promise.resolve();
  return tx.objectStore('repullSeen').put({
    entityType: remote.entityType,
    entityId: remote.entityId,
    epoch: epoch.id,
    behind: fieldsHeldNewer(local, remote),
  });
}

/**
 * The re-pull reached the end: queue a re-offer for every update and
 * document the server did not bring back, or brought back older, unless the
 * outbox already holds a change to it (edited meanwhile, or offered already:
 * one record never gets two). Documents only when the person signed in may
 * write them, or the server would refuse them. Ends the epoch; returns how
 * many records were offered again.
 */
export async function finishEpoch(tx: RepullTx, epoch: RepullEpoch): Promise<number> {
  const records = tx.objectStore('records').index('byType');
  const [updates, documents, marks, outbox, user] = await Promise.all([
    records.getAll('update'),
    records.getAll('document'),
    tx.objectStore('repullSeen').getAll(),
    tx.objectStore('outbox').getAll(),
    getMetaIn(tx, 'user'),
  ]);
  const key = (target: { entityType: string; entityId: string }) => `${target.entityType}/${target.entityId}`;
  const pending = new Set(outbox.map((entry) => key(entry.change)));
  const seen = new Map(marks.filter((mark) => mark.epoch === epoch.id).map((mark) => [key(mark), mark.behind]));
  const held = user && roleAtLeast(user.role, 'coordinator') ? [...updates, ...documents] : updates;
  const clientTime = new Date().toISOString();
  const writes: Promise<unknown>[] = [];
  let offered = 0;
  for (const record of held) {
    if (pending.has(key(record))) continue;
    const changes = reofferChanges(record, seen.get(key(record)) ?? null, clientTime);
    if (changes.length > 0) offered += 1;
    for (const change of changes) {
      writes.push(tx.objectStore('outbox').add({ change, userId: user?.id ?? null, reoffer: true }));
    }
  }
  writes.push(tx.objectStore('repullSeen').clear(), setMetaIn(tx, 'repullEpoch', null));
  await Promise.all(writes);
  return offered;
}
