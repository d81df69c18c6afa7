/**
 * Hub mode: keep this hub and the cloud in step. Each round pushes the
 * changes accepted here (oldest first, 500 at a time, two at once when they
 * touch different records), then pulls the cloud's
 * records until caught up. While the cloud is unreachable the hub keeps
 * serving its members and retries with exponential backoff and jitter; local
 * writes ask for a round soon after they land.
 */
import type { ServerContext } from '../context';
import { offerAllAttachmentsAgain } from '../db/attachment-upstream';
import { ensureCommunity, findCommunity } from '../db/communities';
import { readMeta, writeMeta } from '../db/server-meta';
import { beginRepull, repullUnderWay } from '../db/upstream-repull';
import {
  countUpstream,
  markDelivered,
  markRejected,
  pendingUpstream,
  requeueAcceptedChanges,
  type QueuedChange,
} from '../db/upstream';
import { batchesToSendTogether } from '../domain/push-pipeline';
import { mergeRemoteRecords } from '../services/merge-remote';
import { ATTACHMENT_CURSOR_KEY, AttachmentTransfer, type AttachmentTransferStatus } from './attachments';
import { CloudClient, UpstreamError } from './cloud-client';
import { offerWhatTheCloudLacks } from './repull';
import { RoundLoop } from './round-loop';

const PUSH_BATCH = 500;
const PULL_PAGE = 2000;
const KICK_DELAY_MS = 500;
const MAX_EMPTY_PAGES = 3;
const CURSOR_KEY = 'upstream_cursor';
/** Where a hub keeps the id of the community it serves (learnt from the cloud). */
export const UPSTREAM_COMMUNITY_KEY = 'upstream_community_id';
/** Stands for "not learnt yet": matches no community. */
export const UNKNOWN_COMMUNITY = '00000000-0000-0000-0000-000000000000';

export type UpstreamState = 'starting' | 'online' | 'offline' | 'error';

export interface UpstreamStatus {
  state: UpstreamState;
  lastSyncAt: string | null;
  pendingUp: number;
  rejectedUp: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  /** Files, moved by a loop of their own (attachments.ts): never in the way of the records above. */
  attachments: AttachmentTransferStatus;
}

export class UpstreamWorker {
  private state: UpstreamState = 'starting';
  private lastSyncAt: string | null = null;
  private lastError: string | null = null;
  private counts = { pending: 0, rejected: 0 };
  private readonly loop: RoundLoop;
  private readonly cloud: CloudClient;
  private readonly stopping = new AbortController();
  private readonly attachments: AttachmentTransfer;

  constructor(
    private readonly ctx: ServerContext,
    private readonly upstream: { url: string; apiKey: string; intervalMs: number; backoffMaxMs: number },
  ) {
    this.cloud = new CloudClient(upstream.url, upstream.apiKey, 15_000, this.stopping.signal);
    this.attachments = new AttachmentTransfer(ctx, this.cloud, upstream);
    this.loop = new RoundLoop(
      {
        work: () => this.syncOnce(),
        succeeded: () => {
          this.state = 'online';
          this.lastError = null;
          this.lastSyncAt = new Date().toISOString();
          // The cloud answers: files may move now (the first round also learnt the community).
          this.attachments.kick();
        },
        failed: (error, failures) => {
          this.state = error instanceof UpstreamError && error.kind === 'unreachable' ? 'offline' : 'error';
          this.lastError = (error as Error).message;
          this.ctx.log.warn({ err: this.lastError, failures }, 'upstream sync failed');
        },
        settled: async () => {
          this.counts = await countUpstream(this.ctx.db).catch(() => this.counts);
        },
      },
      { intervalMs: upstream.intervalMs, backoffMaxMs: upstream.backoffMaxMs, kickDelayMs: KICK_DELAY_MS },
    );
  }

  start(): void {
    this.loop.start();
    this.attachments.start();
  }

  async stop(): Promise<void> {
    const stopped = this.loop.stop();
    this.stopping.abort();
    await Promise.all([stopped, this.attachments.stop()]);
  }

  /** Local changes landed: sync soon rather than at the next period (unless backing off). */
  kick(): void {
    this.loop.kick();
  }

  async status(): Promise<UpstreamStatus> {
    this.counts = await countUpstream(this.ctx.db).catch(() => this.counts);
    return {
      state: this.state,
      lastSyncAt: this.lastSyncAt,
      pendingUp: this.counts.pending,
      rejectedUp: this.counts.rejected,
      lastError: this.lastError,
      nextAttemptAt: this.loop.nextAttemptAt,
      attachments: await this.attachments.status(),
    };
  }

  /** One full round now (tests and the first start use it); resolves when done. */
  async syncNow(): Promise<void> {
    await this.loop.runNow();
  }

  /**
   * Push and pull at once: they touch different things (the queue, the
   * cursor) and merging is order-free, so after an outage the hub sends its
   * backlog while it takes in the cloud's, on both machines' cores at once.
   */
  private async syncOnce(): Promise<void> {
    const communityId = await this.community();
    const results = await Promise.allSettled([this.pushAll(communityId), this.pullAll(communityId)]);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The hub belongs to the community of its API key; it learns it once, from the cloud. */
  private async community(): Promise<string> {
    const known = await readMeta(this.ctx.db, UPSTREAM_COMMUNITY_KEY);
    if (known && (await findCommunity(this.ctx.db, known))) return known;
    const status = await this.cloud.status();
    if (!status.communityId) throw new UpstreamError('cloud did not say which community this hub serves', 'protocol');
    const communityId = status.communityId;
    await this.ctx.db.transaction(async (tx) => {
      await ensureCommunity(tx, communityId, status.communityName ?? 'Community');
      await writeMeta(tx, UPSTREAM_COMMUNITY_KEY, communityId);
    });
    return communityId;
  }

  private async pushAll(communityId: string): Promise<void> {
    for (;;) {
      const queued = await this.ctx.db.transaction((tx) => pendingUpstream(tx, communityId, 2 * PUSH_BATCH), {
        orderedScans: true,
      });
      if (queued.length === 0) return;
      const batches = batchesToSendTogether(queued, PUSH_BATCH);
      // Wait for every push before failing the round: one still in flight must not race the next round's reads.
      const sent = await Promise.allSettled(batches.map((batch) => this.pushBatch(batch)));
      const failed = sent.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      if (queued.length < 2 * PUSH_BATCH && batches.length === 2) return;
      if (queued.length < PUSH_BATCH) return;
    }
  }

  /** One push of up to 500 queued changes; what the cloud took leaves the queue, what it refused is set aside. */
  private async pushBatch(batch: QueuedChange[]): Promise<void> {
    const origin = this.ctx.serverId;
    const { results } = await this.cloud.push(
      `hub:${this.ctx.serverId}`,
      batch.map(({ change }) => ({ ...change, origin: change.origin ?? origin })),
    );
    const delivered: number[] = [];
    for (const [index, queued] of batch.entries()) {
      const result = results[index];
      if (result?.status === 'rejected') {
        await markRejected(
          this.ctx.db,
          queued.seq,
          result.error ?? { code: 'rejected', message: 'rejected by the cloud' },
        );
      } else {
        delivered.push(queued.seq);
      }
    }
    await markDelivered(this.ctx.db, delivered);
  }

  /**
   * Pull pages until caught up. The next page is asked for as soon as this
   * one arrives, while this one merges (the cursor is stored with each
   * page's merge, in order, so a crash never skips a page).
   */
  private async pullAll(communityId: string): Promise<void> {
    const pull = (cursor: string | null) => this.cloud.pull(`hub:${this.ctx.serverId}`, cursor, PULL_PAGE);
    let emptyPages = 0;
    let next: ReturnType<typeof pull> | null = null;
    // A re-pull from a restored cloud notes what each page brings back (kept across restarts).
    let repull = await repullUnderWay(this.ctx.db);
    for (let pages = 0; pages < 10_000 && !this.loop.isStopped; pages += 1) {
      let page;
      try {
        page = await (next ?? pull(await readMeta(this.ctx.db, CURSOR_KEY)));
      } catch (error) {
        next = null;
        if (error instanceof UpstreamError && error.kind === 'cursor_mismatch') {
          await this.restartAgainstNewCloud(communityId);
          repull = true;
          continue;
        }
        throw error;
      }
      // Empty pages with hasMore: the cloud is waiting on a long transaction; finish this round, come back later.
      emptyPages = page.records.length === 0 ? emptyPages + 1 : 0;
      const more: boolean = page.hasMore && emptyPages < MAX_EMPTY_PAGES;
      next = more ? pull(page.cursor) : null;
      // A prefetch that fails is seen when it is awaited; until then it must not count as unhandled.
      next?.catch(() => undefined);
      await this.ctx.db.transaction(async (tx) => {
        await mergeRemoteRecords(this.ctx, tx, communityId, page.records, { repull });
        await writeMeta(tx, CURSOR_KEY, page.cursor);
      });
      if (repull && !page.hasMore) {
        await this.finishRepull(communityId);
        repull = false;
      }
      if (!more) return;
    }
  }

  /**
   * The cloud is not the one we pulled from before (restored from a backup,
   * replaced): pull again from the start (merge is idempotent) and, in the
   * same transaction, queue again every change accepted here, since the
   * restored cloud may have lost some we had delivered; it dedupes the rest
   * by change id. Another round follows at once to send them.
   *
   * Records this hub only pulled from the cloud (written by the cloud's own
   * members) have no change here to send again: the re-pull begun here notes
   * what the cloud sends back, and at its end offers it what it lacks
   * (repull.ts).
   */
  private async restartAgainstNewCloud(communityId: string): Promise<void> {
    const requeued = await this.ctx.db.transaction(async (tx) => {
      await writeMeta(tx, CURSOR_KEY, null);
      // Files too: list the cloud's again from the start, and offer it every file held here.
      await writeMeta(tx, ATTACHMENT_CURSOR_KEY, null);
      await offerAllAttachmentsAgain(tx, communityId);
      await beginRepull(tx, communityId);
      return requeueAcceptedChanges(tx, communityId);
    });
    // Send them in this same round: a kick during a round runs it again at once.
    if (requeued > 0) this.loop.kick();
    this.ctx.log.warn(
      { requeued },
      'the cloud refused our cursor (restored or replaced): pulling again from the start, sending every change accepted here again',
    );
  }

  /** The re-pull reached the end: queue what the restored cloud lacks, and send it in this same round. */
  private async finishRepull(communityId: string): Promise<void> {
    const offered = await offerWhatTheCloudLacks(this.ctx, communityId);
    if (offered > 0) this.loop.kick();
    this.ctx.log.warn({ offered }, 're-pull from the restored cloud done: offering it again what it lacks');
  }
}
