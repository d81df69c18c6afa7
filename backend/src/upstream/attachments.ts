/**
 * Hub mode: every attachment of the community, both ways, in a loop of its
 * own beside the record rounds (worker.ts), so a slow, stalled or failing
 * file never delays nor fails record push and pull.
 *
 * Up: each attachment complete here and not known at the cloud is declared
 * there (POST), then sent in pieces of at most 1 MiB from the offset the
 * cloud holds (its answer to the declaration, or to a PATCH refused with
 * offset_mismatch), read from this hub's stored chunks. Only when the cloud
 * answers that the last piece completed it (or the declaration finds it
 * complete) is it marked as at the cloud (`upstream_at`): a cut connection
 * or a restart resumes from the cloud's offset.
 *
 * Down: the cloud's hub-only listing (GET /api/attachments?after=) names
 * every complete attachment of the community in a stable order; each page
 * queues what this hub lacks (attachment_downloads) and stores the cursor,
 * in one transaction. Each queued file is declared here and appended through
 * the same path a member's upload takes (so its SHA-256 and type are checked
 * again here), fetched with `Range: bytes=<what this hub holds>-`, so an
 * interrupted download resumes where it stopped.
 *
 * The cloud unreachable: the loop backs off (exponential, jitter). A file
 * the cloud or this hub refuses (quota, type, hash): set aside with its
 * reason and tried again later, the others go on.
 */
import type { ServerContext } from '../context';
import { readChunksFrom } from '../db/attachments';
import { readMeta, writeMeta } from '../db/server-meta';
import { AppError } from '../errors';
import { appendToUpload, CHUNK_BYTES, declareAttachment } from '../services/attachments';
import * as store from '../db/attachment-upstream';
import { UpstreamError, type CloudClient } from './cloud-client';
import { RoundLoop } from './round-loop';

const LISTING_PAGE = 500;
const BATCH = 20;
/** A PATCH of at most 1 MiB must be answered within this. */
const PIECE_TIMEOUT_MS = 60_000;
/** A download with no byte for this long is given up (and resumed next time). */
const IDLE_TIMEOUT_MS = 30_000;
/** A file refused for a reason of its own is tried again after this (then longer, to an hour). */
const RETRY_REFUSED_MS = 60_000;
const MAX_OFFSET_MISMATCHES = 5;
export const ATTACHMENT_CURSOR_KEY = 'upstream_attachment_cursor';
const COMMUNITY_KEY = 'upstream_community_id';

export type TransferState = 'starting' | 'idle' | 'transferring' | 'offline' | 'error';

export interface AttachmentTransferStatus extends store.TransferCounts {
  state: TransferState;
  lastTransferAt: string | null;
  lastError: string | null;
  /** The file being sent or fetched now, and how far it is. */
  current: { direction: 'up' | 'down'; hash: string; offset: number; size: number } | null;
}

export class AttachmentTransfer {
  private state: TransferState = 'starting';
  private lastTransferAt: string | null = null;
  private lastError: string | null = null;
  private current: AttachmentTransferStatus['current'] = null;
  private counts: store.TransferCounts = { pendingUp: 0, failedUp: 0, pendingDown: 0, failedDown: 0 };
  private readonly loop: RoundLoop;

  constructor(
    private readonly ctx: ServerContext,
    private readonly cloud: CloudClient,
    options: { intervalMs: number; backoffMaxMs: number },
  ) {
    this.loop = new RoundLoop(
      {
        work: () => this.transferOnce(),
        succeeded: () => {
          this.state = 'idle';
          this.lastError = null;
        },
        failed: (error, failures) => {
          this.state = error instanceof UpstreamError && error.kind === 'unreachable' ? 'offline' : 'error';
          this.lastError = (error as Error).message;
          if (!this.stopped) this.ctx.log.warn({ err: this.lastError, failures }, 'attachment transfer failed');
        },
        settled: async () => {
          this.current = null;
          this.counts = await store.countTransfers(this.ctx.db).catch(() => this.counts);
        },
      },
      { ...options, kickDelayMs: 0 },
    );
  }

  private get stopped(): boolean {
    return this.loop.isStopped;
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Something may have changed (a record round ended, a file completed here): look soon. */
  kick(): void {
    this.loop.kick();
  }

  async status(): Promise<AttachmentTransferStatus> {
    this.counts = await store.countTransfers(this.ctx.db).catch(() => this.counts);
    return {
      state: this.state,
      ...this.counts,
      lastTransferAt: this.lastTransferAt,
      lastError: this.lastError,
      current: this.current,
    };
  }

  private async transferOnce(): Promise<void> {
    // The record worker learns the community from the cloud; until then there is nothing to move.
    const communityId = await readMeta(this.ctx.db, COMMUNITY_KEY);
    if (!communityId || this.stopped) return;
    this.state = 'transferring';
    await this.sendAll(communityId);
    await this.listCloud(communityId);
    await this.fetchAll(communityId);
  }

  // ---- up ----

  private async sendAll(communityId: string): Promise<void> {
    while (!this.stopped) {
      const batch = await store.attachmentsToSend(this.ctx.db, communityId, BATCH);
      for (const attachment of batch) {
        if (this.stopped) return;
        try {
          await this.sendOne(communityId, attachment);
        } catch (error) {
          if (!refusedForItself(error)) throw error;
          await store.setAsideUpload(
            this.ctx.db,
            communityId,
            attachment.hash,
            (error as Error).message,
            RETRY_REFUSED_MS,
          );
        }
      }
      if (batch.length < BATCH) return;
    }
  }

  private async sendOne(communityId: string, attachment: store.ToSend): Promise<void> {
    const { hash, size } = attachment;
    const declared = await this.cloud.declareAttachment({ hash, size, name: attachment.name });
    let offset = declared.attachment.received;
    let complete = declared.attachment.complete;
    let mismatches = 0;
    while (!complete) {
      if (this.stopped) return;
      this.current = { direction: 'up', hash, offset, size };
      const piece = await this.pieceAt(communityId, hash, offset);
      if (!piece) throw new UpstreamError(`attachment ${hash} has no stored bytes at ${offset}`, 'protocol');
      const answer = await this.cloud.appendAttachment(hash, offset, piece, PIECE_TIMEOUT_MS);
      if (answer.mismatch) {
        mismatches += 1;
        if (mismatches > MAX_OFFSET_MISMATCHES) throw new UpstreamError(`upload of ${hash} keeps moving`, 'protocol');
      } else {
        this.ctx.metrics.upstreamAttachmentBytes.inc({ direction: 'up' }, piece.length);
      }
      offset = answer.offset;
      complete = answer.complete;
    }
    await store.markAtCloud(this.ctx.db, communityId, hash);
    this.ctx.metrics.upstreamAttachmentTransfers.inc({ direction: 'up' });
    this.lastTransferAt = new Date().toISOString();
  }

  /** At most 1 MiB of this hub's stored bytes, from `offset` (the first stored chunk holding it). */
  private async pieceAt(communityId: string, hash: string, offset: number): Promise<Uint8Array | undefined> {
    const chunks = readChunksFrom(this.ctx.db, communityId, hash, offset, 1, this.ctx.attachmentBucket);
    const first = await chunks.next();
    await chunks.return(undefined);
    return first.done ? undefined : first.value.data.subarray(0, CHUNK_BYTES);
  }

  // ---- down ----

  private async listCloud(communityId: string): Promise<void> {
    for (let pages = 0; pages < 10_000 && !this.stopped; pages += 1) {
      const cursor = await readMeta(this.ctx.db, ATTACHMENT_CURSOR_KEY);
      const page = await this.cloud.listAttachments(cursor, LISTING_PAGE);
      await this.ctx.db.transaction(async (tx) => {
        await store.recordListing(tx, communityId, page.attachments);
        if (page.cursor) await writeMeta(tx, ATTACHMENT_CURSOR_KEY, page.cursor);
      });
      if (!page.hasMore || page.attachments.length === 0) return;
    }
  }

  private async fetchAll(communityId: string): Promise<void> {
    while (!this.stopped) {
      const batch = await store.attachmentsToFetch(this.ctx.db, communityId, BATCH);
      let fetched = 0;
      for (const attachment of batch) {
        if (this.stopped) return;
        try {
          await this.fetchOne(communityId, attachment);
          fetched += 1;
        } catch (error) {
          if (!refusedForItself(error)) throw error;
          const retryMs = Math.min(3_600_000, RETRY_REFUSED_MS * 2 ** Math.min(attachment.attempts, 6));
          await store.setAsideDownload(this.ctx.db, communityId, attachment.hash, (error as Error).message, retryMs);
        }
      }
      if (batch.length < BATCH || fetched === 0) return;
    }
  }

  private async fetchOne(communityId: string, attachment: store.ToFetch): Promise<void> {
    const { hash, size } = attachment;
    const here = await declareAttachment(this.ctx, communityId, { hash, size, name: attachment.name });
    let offset = here.attachment.received;
    let done = here.attachment.complete;
    if (!done) {
      const idle = new AbortController();
      let timer = setTimeout(() => idle.abort(), IDLE_TIMEOUT_MS);
      const stillAlive = () => {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), IDLE_TIMEOUT_MS);
      };
      try {
        const response = await this.cloud.downloadAttachment(hash, offset, idle.signal);
        // A cloud that ignored the range sends the whole file: skip what is stored here already.
        let skip = response.status === 206 ? 0 : offset;
        if (response.status === 206 && !response.headers.get('content-range')?.startsWith(`bytes ${offset}-`)) {
          throw new UpstreamError(`cloud answered another range than bytes=${offset}-`, 'protocol');
        }
        let pending: Uint8Array[] = [];
        let pendingBytes = 0;
        /** Store the first `length` bytes received (one transaction: a cut loses only what is not stored). */
        const keep = async (length: number) => {
          const all = Buffer.concat(pending, pendingBytes);
          const rest = all.subarray(length);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          const result = await appendToUpload(this.ctx, communityId, hash, offset, all.subarray(0, length));
          offset = result.attachment.received;
          done = result.done;
          this.current = { direction: 'down', hash, offset, size };
          this.ctx.metrics.upstreamAttachmentBytes.inc({ direction: 'down' }, length);
        };
        this.current = { direction: 'down', hash, offset, size };
        try {
          for await (const received of (response.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
            stillAlive();
            let bytes = received;
            if (skip > 0) {
              const dropped = Math.min(skip, bytes.length);
              skip -= dropped;
              bytes = bytes.subarray(dropped);
            }
            if (bytes.length === 0) continue;
            pending.push(bytes);
            pendingBytes += bytes.length;
            while (pendingBytes >= CHUNK_BYTES) await keep(CHUNK_BYTES);
            if (this.stopped) return;
          }
        } catch (error) {
          // Cut mid-file: what was stored is kept (the next try resumes after it); the rest is lost.
          if (error instanceof AppError || error instanceof UpstreamError) throw error;
          throw new UpstreamError(
            `download of ${hash} cut at ${offset} bytes (${(error as Error).message})`,
            'unreachable',
          );
        }
        if (pendingBytes > 0) await keep(pendingBytes);
      } finally {
        clearTimeout(timer);
      }
    }
    if (!done) throw new UpstreamError(`download of ${hash} ended at ${offset} of ${size} bytes`, 'unreachable');
    await this.ctx.db.transaction((tx) => store.markFetched(tx, communityId, hash));
    this.ctx.metrics.upstreamAttachmentTransfers.inc({ direction: 'down' });
    this.lastTransferAt = new Date().toISOString();
  }
}

/**
 * Refused because of this file (too large, wrong type or hash, conflicting
 * upload here): set it aside and go on. Anything else (the cloud gone, the
 * key refused) stops the round, to be retried with backoff.
 */
function refusedForItself(error: unknown): boolean {
  if (error instanceof AppError) return true;
  return error instanceof UpstreamError && error.kind === 'protocol';
}
