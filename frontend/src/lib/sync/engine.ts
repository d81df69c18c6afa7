/**
 * One sync run: push the outbox in batches, then pull until caught up.
 *
 * Contracts: the outbox is only ever emptied by the server's answer for each
 * change; a 401 keeps everything and asks for a new sign-in; a rejected change
 * is set aside and the rest go on; `cursor_mismatch` restarts the pull from
 * the beginning, and after a server restore what it lost and this device
 * holds is offered again, in the same run (repull.ts). Photos go after the
 * records under their own lock (runPhotoTransfer, attachments/queue.ts), and
 * nothing they do fails or delays a record sync. Plain TypeScript (no
 * Svelte), so tests and the service worker run exactly this code.
 */
import { MAX_PUSH_CHANGES } from '@lifeline/core';
import { ApiError } from '$lib/api/client';
import type { Endpoints } from '$lib/api/endpoints';
import { ensureClientId, getMeta, setMeta, type LifelineDb, type SyncErrorState } from '$lib/db';
import { enforcePhotoBudget } from '$lib/attachments/budget';
import { downloadThumbnails, uploadPending, type UploadProgress } from '$lib/attachments/queue';
import type { AttachmentTransport } from '$lib/attachments/transport';
import { applyPullPage, settlePush } from './apply';
import { withSyncLock } from './lock';
import { restartPull } from './repull';

export type SyncPhase = 'push' | 'pull' | 'photos';

export interface SyncProgress {
  phase: SyncPhase;
  pushed: number;
  toPush: number;
  pulled: number;
  /** While photos are sent (phase 'photos'). */
  photos?: UploadProgress;
}

export interface SyncReport {
  ok: boolean;
  /** Another tab (or the service worker) was already syncing. */
  skipped: boolean;
  pushed: number;
  pulled: number;
  rejected: number;
  conflicts: number;
  /** Records offered again to a restored server that did not bring them back (or brought them back older). */
  reoffered: number;
  error: SyncErrorState | null;
  authRequired: boolean;
  /** Photo bytes sent and thumbnails received (attachments/queue), after the records. */
  photosUploaded: number;
  photosDownloaded: number;
}

export interface SyncOptions {
  db: LifelineDb;
  api: Endpoints;
  reason: string;
  pushBatchSize?: number;
  pullLimit?: number;
  onProgress?: (progress: SyncProgress) => void;
  lockName?: string;
  /**
   * Where photos go: sent (and thumbnails fetched) after the records, under
   * a lock of their own. Without it only records sync (the app runs photos
   * itself with runPhotoTransfer, so a long upload never holds up a sync).
   */
  attachments?: AttachmentTransport;
}

const LOG_LIMIT = 50;
/** Cursors this server cannot use (another server's, or unreadable): the only safe move is a full re-pull. */
const RESTART_CODES = new Set(['cursor_mismatch', 'invalid_cursor']);

/**
 * Whether the server may have lost writes this device holds: it says its
 * database was restored (or moved) since our cursor, or it cannot read the
 * cursor at all. Not when this device moved to another server (hub, cloud):
 * what that one lacks reaches it from the other, with its real authors.
 */
function mayHaveLost(error: ApiError): boolean {
  return error.code === 'invalid_cursor' || error.details.restored === true;
}

/** Plain words for people under stress: what happened and whether their work is safe. */
export function describeError(error: unknown): SyncErrorState {
  const at = new Date().toISOString();
  if (error instanceof ApiError) {
    if (error.status === 401) {
      return {
        code: 'unauthorized',
        message: 'Your session has ended. Sign in again to send your changes; they are kept on this device.',
        at,
      };
    }
    if (error.status === 0) {
      return {
        code: error.code,
        message: 'Cannot reach the server. Your changes are kept on this device and will be sent later.',
        at,
      };
    }
    if (error.status === 429)
      return { code: error.code, message: 'The server is busy. Lifeline will try again shortly.', at };
    if (error.status >= 500) {
      return {
        code: error.code,
        message: `The server had a problem (${error.message.replace(/\.$/, '')}). Lifeline will try again.`,
        at,
      };
    }
    return { code: error.code, message: error.message, at };
  }
  return { code: 'unexpected', message: error instanceof Error ? error.message : String(error), at };
}

export async function runSync(options: SyncOptions): Promise<SyncReport> {
  const result = await withSyncLock(options.lockName ?? 'lifeline-sync', () => syncLocked(options));
  // Another tab or the service worker holds the lock and is syncing: nothing to do here.
  const report = result ?? { ...emptyReport(), ok: true, skipped: true };
  if (options.attachments && report.ok) {
    const photos = await runPhotoTransfer({
      db: options.db,
      attachments: options.attachments,
      lockName: options.lockName ? `${options.lockName}-photos` : undefined,
      onProgress: (photos) =>
        options.onProgress?.({ phase: 'photos', pushed: report.pushed, toPush: report.pushed, pulled: 0, photos }),
    });
    report.photosUploaded = photos.uploaded;
    report.photosDownloaded = photos.downloaded;
  }
  return report;
}

function emptyReport(): SyncReport {
  return {
    ok: false,
    skipped: false,
    pushed: 0,
    pulled: 0,
    rejected: 0,
    conflicts: 0,
    reoffered: 0,
    error: null,
    authRequired: false,
    photosUploaded: 0,
    photosDownloaded: 0,
  };
}

async function syncLocked(options: SyncOptions): Promise<SyncReport> {
  const { db } = options;
  const startedAt = new Date().toISOString();
  const report = emptyReport();
  const progress: SyncProgress = { phase: 'push', pushed: 0, toPush: 0, pulled: 0 };
  await setMeta(db, 'lastAttemptAt', startedAt);
  try {
    const clientId = await ensureClientId(db);
    await push(options, clientId, report, progress);
    await pull(options, clientId, report, progress);
    // What a restored server lost goes back at once, not at the next sync.
    if (report.reoffered > 0) await push(options, clientId, report, progress);
    report.ok = true;
    await setMeta(db, 'lastSyncAt', new Date().toISOString());
    await setMeta(db, 'lastError', null);
    await setMeta(db, 'failures', 0);
    await setMeta(db, 'authRequired', false);
  } catch (error) {
    report.error = describeError(error);
    report.authRequired = error instanceof ApiError && error.status === 401;
    await setMeta(db, 'lastError', report.error);
    await setMeta(db, 'failures', ((await getMeta(db, 'failures')) ?? 0) + 1);
    if (report.authRequired) await setMeta(db, 'authRequired', true);
  }
  await appendLog(db, options.reason, startedAt, report);
  return report;
}

async function push(options: SyncOptions, clientId: string, report: SyncReport, progress: SyncProgress): Promise<void> {
  const { db, api } = options;
  const batchSize = Math.min(options.pushBatchSize ?? MAX_PUSH_CHANGES, MAX_PUSH_CHANGES);
  progress.phase = 'push';
  progress.toPush = progress.pushed + (await db.count('outbox'));
  options.onProgress?.({ ...progress });
  // Entries written while we push get their own round; stop when a round makes no progress.
  for (let round = 0; round < 10_000; round += 1) {
    const batch = await db.getAll('outbox', null, batchSize);
    if (batch.length === 0) return;
    const response = await api.push(
      clientId,
      batch.map((entry) => entry.change),
    );
    const outcome = await settlePush(db, batch, response.results);
    report.pushed += outcome.accepted;
    report.rejected += outcome.rejected;
    report.conflicts += outcome.conflicts;
    progress.pushed += outcome.accepted + outcome.rejected;
    options.onProgress?.({ ...progress });
    if (outcome.accepted + outcome.rejected === 0) {
      throw new ApiError(502, 'incomplete_push', 'The server did not confirm the changes sent.');
    }
  }
}

const MAX_EMPTY_PAGES = 3;

async function pull(options: SyncOptions, clientId: string, report: SyncReport, progress: SyncProgress): Promise<void> {
  const { db, api } = options;
  const limit = options.pullLimit ?? 1000;
  progress.phase = 'pull';
  options.onProgress?.({ ...progress });
  let cursor = (await getMeta(db, 'cursor')) ?? null;
  let restarted = false;
  let emptyPages = 0;
  let next: ReturnType<Endpoints['pull']> | null = null;
  for (;;) {
    let page;
    try {
      page = await (next ?? api.pull(clientId, cursor, limit));
    } catch (error) {
      next = null;
      // The cursor names another server (e.g. we moved between hub and cloud): start over once.
      if (error instanceof ApiError && RESTART_CODES.has(error.code) && !restarted) {
        restarted = true;
        cursor = null;
        await restartPull(db, mayHaveLost(error));
        continue;
      }
      throw error;
    }
    // Empty pages with hasMore: the server waits on a long transaction; stop for now, the next sync goes on.
    emptyPages = page.records.length === 0 ? emptyPages + 1 : 0;
    const more: boolean = page.hasMore && emptyPages < MAX_EMPTY_PAGES;
    // Ask for the next page while this one is written to IndexedDB (the slow part on a phone): its
    // cursor is this page's, and pages are still applied one after another, so a failure skips nothing.
    next = more ? api.pull(clientId, page.cursor, limit) : null;
    // A prefetch that fails is seen when it is awaited; until then it must not count as unhandled.
    next?.catch(() => undefined);
    // Only a page that says so ends a re-pull: the empty-page bail-out above has not seen everything.
    report.reoffered += await applyPullPage(db, page.records, page.cursor, { caughtUp: !page.hasMore });
    cursor = page.cursor;
    report.pulled += page.records.length;
    progress.pulled += page.records.length;
    options.onProgress?.({ ...progress });
    if (!more) return;
  }
}

export interface PhotoTransferOptions {
  db: LifelineDb;
  attachments: AttachmentTransport;
  onProgress?: (progress: UploadProgress) => void;
  lockName?: string;
}

export interface PhotoTransferReport {
  /** Another tab (or the service worker) was already sending photos. */
  skipped: boolean;
  uploaded: number;
  downloaded: number;
  /** Thumbnails records name that have not reached the server yet. */
  onItsWay: number;
  /** Why the transfer stopped early (it resumes at the next sync), in words. */
  error: string | null;
}

/**
 * Photos after the records, and never at their expense: their own lock (a
 * record sync never waits for an upload), and a failure ends only this
 * transfer (the next sync resumes it from the server's offsets).
 */
export async function runPhotoTransfer(options: PhotoTransferOptions): Promise<PhotoTransferReport> {
  const { db, attachments } = options;
  const result = await withSyncLock(options.lockName ?? 'lifeline-photos', async () => {
    const report: PhotoTransferReport = { skipped: false, uploaded: 0, downloaded: 0, onItsWay: 0, error: null };
    try {
      const upload = await uploadPending(db, attachments, { onProgress: options.onProgress });
      report.uploaded = upload.uploaded;
      // This device's own photos now on the server count towards the offline budget (attachments/budget).
      if (upload.uploaded > 0) await enforcePhotoBudget(db);
      report.error = upload.stoppedBy ? describeError(upload.stoppedBy).message : null;
      // Offline now: the downloads would fail too.
      if (upload.stoppedBy?.status === 0) return report;
      const download = await downloadThumbnails(db, attachments);
      report.downloaded = download.downloaded;
      report.onItsWay = download.onItsWay;
      if (download.stoppedBy) report.error = describeError(download.stoppedBy).message;
    } catch (error) {
      report.error = describeError(error).message;
    }
    return report;
  });
  return result ?? { skipped: true, uploaded: 0, downloaded: 0, onItsWay: 0, error: null };
}

async function appendLog(db: LifelineDb, reason: string, startedAt: string, report: SyncReport): Promise<void> {
  const tx = db.transaction('syncLog', 'readwrite');
  await tx.store.add({
    reason,
    startedAt,
    finishedAt: new Date().toISOString(),
    ok: report.ok,
    pushed: report.pushed,
    pulled: report.pulled,
    rejected: report.rejected,
    conflicts: report.conflicts,
    error: report.error?.message ?? null,
  });
  const count = await tx.store.count();
  if (count > LOG_LIMIT) {
    let cursor = await tx.store.openCursor();
    for (let excess = count - LOG_LIMIT; cursor && excess > 0; excess -= 1) {
      await cursor.delete();
      cursor = await cursor.continue();
    }
  }
  await tx.done;
}
