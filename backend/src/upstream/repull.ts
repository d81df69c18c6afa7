/**
 * Hub mode, after the cloud was restored from a backup: the re-pull noted,
 * per record the cloud sent back, what this hub holds newer
 * (services/merge-remote.ts). When it reaches the end, every update and
 * document (conflict and account record too: a hub may write those) the
 * cloud did not send back, or sent back older, is offered to it again, as a
 * browser does after its own re-pull (core `reofferChanges`):
 * each field under the stamp it has here, so a cloud that still has a value
 * finds nothing new. That covers what this hub only pulled from the cloud
 * (written by the cloud's own members after the backup), which its own log
 * cannot send again. The offers join the log and the queue in the same
 * transaction that ends the re-pull, so a crash either offers all or none.
 */
import { compareStamps, reofferChanges, type RecordState } from '@lifeline/core';
import type { ServerContext } from '../context';
import { findExistingChanges, recordChanges, type AcceptedChange } from '../db/changes';
import { enqueueForUpstream } from '../db/upstream';
import { endRepull, heldRecordsAfter, type HeldRecord } from '../db/upstream-repull';

const BATCH = 500;
/** The client id the hub's log shows for its offers. */
const REOFFER_CLIENT_ID = 'hub-reoffer';

/** Queue again what the restored cloud lacks; answers how many changes were queued. */
export async function offerWhatTheCloudLacks(ctx: ServerContext, communityId: string): Promise<number> {
  return ctx.db.transaction(
    async (tx) => {
      let queued = 0;
      let after = { entityType: '', entityId: '00000000-0000-0000-0000-000000000000' };
      for (;;) {
        const held = await heldRecordsAfter(tx, communityId, after, BATCH);
        const logged = await findExistingChanges(tx, communityId, [...new Set(held.flatMap(writersOfBehind))]);
        const offers = held.flatMap((item) => offersFor(withoutLogged(item, logged), ctx.serverId));
        await recordChanges(tx, communityId, offers);
        await enqueueForUpstream(
          tx,
          communityId,
          offers.map(({ change }) => change.changeId),
        );
        queued += offers.length;
        const last = held[held.length - 1];
        if (!last || held.length < BATCH) break;
        after = last.record;
      }
      await endRepull(tx, communityId);
      return queued;
    },
    { orderedScans: true },
  );
}

/** The change ids that wrote what the cloud lacks of a record held in part. */
function writersOfBehind({ record, behind }: HeldRecord): string[] {
  if (behind === null) return [];
  return Object.keys(behind).flatMap((field) => record.meta[field]?.changeId ?? []);
}

/**
 * Leave out of a record held in part the fields written by changes in this
 * hub's own log: the log is being sent again already, with their real
 * authors. A record the cloud lost whole goes whole (a create needs its
 * required fields).
 */
function withoutLogged(item: HeldRecord, logged: Map<string, unknown>): HeldRecord {
  if (item.behind === null) return item;
  const behind = Object.fromEntries(
    Object.entries(item.behind).filter(([field]) => !logged.has(item.record.meta[field]?.changeId ?? '')),
  );
  return { ...item, behind };
}

function offersFor({ record, behind }: HeldRecord, serverId: string): AcceptedChange[] {
  if (behind !== null && Object.keys(behind).length === 0) return [];
  const writer = writerOf(record, behind);
  // A hub may name the author: the cloud fills createdBy from it when it takes the offer as the create.
  const author = writer.author ?? `hub:${serverId}`;
  const origin = writer.origin ?? `hub:${serverId}`;
  return reofferChanges(record, behind, new Date().toISOString()).map((change) => ({
    change: { ...change, author, origin },
    author,
    origin,
    clientId: REOFFER_CLIENT_ID,
    result: { changeId: change.changeId, status: 'applied', version: record.version },
  }));
}

/** Who the offer speaks for: the record's creator when the cloud lost it all, else the newest writer of what it lacks. */
function writerOf(record: RecordState, behind: Record<string, string | null> | null) {
  if (behind === null) {
    const creator = record.fields.createdBy;
    const meta = record.meta.createdBy;
    return {
      author: typeof creator === 'string' ? creator : (meta?.author ?? undefined),
      origin: meta?.origin ?? undefined,
    };
  }
  const newest = Object.keys(behind).sort((a, b) => compareStamps(record.stamps[b], record.stamps[a]))[0];
  const meta = newest ? record.meta[newest] : undefined;
  return { author: meta?.author ?? undefined, origin: meta?.origin ?? undefined };
}
