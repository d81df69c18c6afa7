/**
 * Writes sync results into IndexedDB in one transaction per batch (a pull page
 * of up to thousands of records is one transaction, never one per record).
 */
import { compareStamps, DELETED_AT, HybridLogicalClock, type ChangeResult, type SyncRecord } from '@lifeline/core';
import { getMetaIn, setMetaIn, type LifelineDb, type OutboxEntry } from '$lib/db';
import { applyChange } from './overlay';
import { currentEpoch, finishEpoch, markSeen } from './repull';
import { wallClockOf } from './wall-clock';

/**
 * Per-field merge by stamp, so a page from an older server state (e.g. after
 * a cursor reset against another server) can never roll a field back.
 */
export function mergePulled(local: SyncRecord | undefined, remote: SyncRecord): SyncRecord {
  if (!local) return remote;
  const merged: SyncRecord = { ...local, fields: { ...local.fields }, stamps: { ...local.stamps } };
  for (const [field, stamp] of Object.entries(remote.stamps)) {
    if (compareStamps(stamp, merged.stamps[field]) < 0) continue;
    merged.stamps[field] = stamp;
    if (field === DELETED_AT) merged.deletedAt = remote.deletedAt;
    else merged.fields[field] = remote.fields[field];
  }
  if (!(DELETED_AT in remote.stamps) && remote.deletedAt !== null) merged.deletedAt = remote.deletedAt;
  merged.version = Math.max(local.version, remote.version);
  merged.updatedAt = remote.updatedAt > local.updatedAt ? remote.updatedAt : local.updatedAt;
  return merged;
}

/**
 * Store one pull page and its cursor atomically: a crash never skips or
 * half-applies a page. During a re-pull epoch (repull.ts) the page's records
 * are marked seen, and the page that ends it (`caughtUp`) queues the
 * re-offers in the same transaction. Returns how many records were offered again.
 */
export async function applyPullPage(
  db: LifelineDb,
  records: SyncRecord[],
  cursor: string,
  options: { caughtUp?: boolean } = {},
): Promise<number> {
  const tx = db.transaction(['records', 'meta', 'repullSeen', 'outbox'], 'readwrite');
  const store = tx.objectStore('records');
  const [epoch, existing] = await Promise.all([
    currentEpoch(tx),
    Promise.all(records.map((r) => store.get([r.entityType, r.entityId]))),
  ]);
  let highest: string | null = null;
  const writes: Promise<unknown>[] = [];
  records.forEach((record, index) => {
    const merged = mergePulled(existing[index], record);
    writes.push(store.put(merged));
    if (epoch) writes.push(markSeen(tx, epoch, merged, record));
    for (const stamp of Object.values(record.stamps)) if (compareStamps(stamp, highest) > 0) highest = stamp;
  });
  // Fold the newest stamp seen into our clock so our next edit sorts after it.
  const clientId = await getMetaIn(tx, 'clientId');
  if (highest && clientId) {
    const clock = new HybridLogicalClock(clientId, wallClockOf(db), (await getMetaIn(tx, 'hlc')) ?? null);
    writes.push(setMetaIn(tx, 'hlc', clock.receive(highest)));
  }
  writes.push(setMetaIn(tx, 'cursor', cursor));
  await Promise.all(writes);
  const offered = epoch && options.caughtUp ? await finishEpoch(tx, epoch) : 0;
  await tx.done;
  return offered;
}

export interface PushOutcome {
  accepted: number;
  rejected: number;
  conflicts: number;
  /** Changes the server did not answer for: they stay queued. */
  unanswered: number;
}

/**
 * Settle one pushed batch. Accepted changes leave the outbox and are applied
 * to the local copy (so they stay visible until the next pull); a rejected
 * change moves to needs-attention with its reason and never blocks the rest.
 */
export async function settlePush(db: LifelineDb, batch: OutboxEntry[], results: ChangeResult[]): Promise<PushOutcome> {
  const byId = new Map(results.map((result) => [result.changeId.toLowerCase(), result]));
  const tx = db.transaction(['outbox', 'records', 'needsAttention', 'meta'], 'readwrite');
  const outcome: PushOutcome = { accepted: 0, rejected: 0, conflicts: 0, unanswered: 0 };
  let highest: string | null = null;
  const now = new Date().toISOString();
  for (const entry of batch) {
    const result = byId.get(entry.change.changeId.toLowerCase());
    if (!result) {
      outcome.unanswered += 1;
      continue;
    }
    await tx.objectStore('outbox').delete(entry.seq!);
    if (result.status === 'rejected') {
      outcome.rejected += 1;
      await tx.objectStore('needsAttention').put({
        changeId: entry.change.changeId,
        change: entry.change,
        error: result.error ?? { code: 'rejected', message: 'The server refused this change.' },
        at: now,
      });
      continue;
    }
    outcome.accepted += 1;
    if (result.status === 'conflict' || (result.conflictIds?.length ?? 0) > 0) outcome.conflicts += 1;
    const key: [string, string] = [entry.change.entityType, entry.change.entityId];
    const current = await tx.objectStore('records').get(key);
    // Keep what the server stored: a clamped stamp (this device's clock runs ahead) must not outrank others here.
    const accepted = result.stamps
      ? { ...entry.change, stamps: { ...entry.change.stamps, ...result.stamps } }
      : entry.change;
    await tx.objectStore('records').put(applyChange(current ?? null, accepted, entry.userId));
    for (const stamp of Object.values(result.stamps ?? {})) if (compareStamps(stamp, highest) > 0) highest = stamp;
  }
  // A server that restamped our write stored it above what we had seen: our next edit must sort after it.
  const clientId = highest ? await getMetaIn(tx, 'clientId') : undefined;
  if (highest && clientId) {
    const clock = new HybridLogicalClock(clientId, wallClockOf(db), (await getMetaIn(tx, 'hlc')) ?? null);
    await setMetaIn(tx, 'hlc', clock.receive(highest));
  }
  await tx.done;
  return outcome;
}
