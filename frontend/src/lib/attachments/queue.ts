/**
 * After the records have synced: send every photo (and a document's PDFs)
 * this device holds that the server does not (declare, whose answer says
 * how far the server got, then PATCH pieces from there, a few files at
 * once), then fetch the thumbnails records name that this device lacks.
 *
 * Contracts: a blob is marked uploaded only when the server says it is
 * complete; the offset always comes from the server (the declaration, or the offset a
 * 409 offset_mismatch names), so a reload, a lost connection or a server
 * restart costs at most the piece in flight; a network failure (or 401, 403,
 * 429, 5xx) stops the run and leaves the rest for the next sync; a refusal
 * no retry can change (attachments/failed) marks that file failed, never
 * sent again unless the person asks, and the others go on. Nothing here
 * touches records or the outbox: photos never hold up or fail record sync.
 */
import { ApiError } from '$lib/api/client';
import type { AttachmentBlob, LifelineDb } from '$lib/db';
import { enforcePhotoBudget, markOpened } from './budget';
import { failureOf, markFailed, verdictOf } from './failed';
import {
  attachmentsOf,
  downloadedEntry,
  getAttachmentBlob,
  isPhoto,
  pendingUploads,
  storeDownloaded,
  summarise,
  thumbnailHashOf,
} from './store';
import type { AttachmentTransport } from './transport';

/** Bytes per PATCH: small enough that a flaky link loses little, large enough to keep requests few. */
export const PIECE_BYTES = 512 * 1024;
/** Files sent side by side. */
export const UPLOADS_AT_ONCE = 3;
/** Offset corrections accepted for one blob in one run before leaving it for the next sync. */
const MAX_CORRECTIONS = 5;

export interface UploadProgress {
  /** Photos and files (a document's PDFs) sent, of all that waited when the run began. */
  photosSent: number;
  photosTotal: number;
  bytesLeft: number;
}

export interface UploadReport {
  uploaded: number;
  /** Blobs the server refused this time (left pending; retried at the next sync). */
  refused: number;
  /** Blobs the server refused for good (marked failed; not retried). */
  failed: number;
  /** Set when the run stopped early (offline, signed out, server trouble). */
  stoppedBy: ApiError | null;
}

/** Damaged on the way once more after the server started the upload over: then it is failed. */
const HASH_MISMATCH_RETRIES = 1;

function serverOffset(error: ApiError): number | null {
  const offset = error.details.offset;
  return typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 ? offset : null;
}

/** Send one blob; true when the server has all of it. Throws what stops the run. */
async function uploadOne(
  transport: AttachmentTransport,
  entry: AttachmentBlob,
  pieceBytes: number,
  onBytes: (sent: number) => void,
): Promise<boolean> {
  const declared = await transport.declare(entry.hash, entry.size, entry.name);
  if (declared.complete) return true;
  // The declaration's answer is the server's offset already: no HEAD round trip (300 ms on a bad link).
  let offset = declared.offset;
  let corrections = 0;
  let mismatches = 0;
  while (offset < entry.size) {
    const piece = entry.blob.slice(offset, Math.min(offset + pieceBytes, entry.size));
    let state;
    try {
      state = await transport.append(entry.hash, offset, piece);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const retryMismatch = error.code === 'hash_mismatch' && (mismatches += 1) <= HASH_MISMATCH_RETRIES;
      if (!retryMismatch && verdictOf(error) !== 'later') throw error;
      corrections += 1;
      if (corrections > MAX_CORRECTIONS) return false;
      if (error.code === 'offset_mismatch') {
        // Someone (another tab, a retried request) got there first: go on from where the server is.
        offset = serverOffset(error) ?? (await transport.offset(entry.hash));
        continue;
      }
      if (error.code === 'hash_mismatch') {
        // The server started the upload over from 0.
        offset = 0;
        continue;
      }
      if (error.status === 404) {
        // The declaration is gone (removed after a refusal, or a restored server): declare again.
        offset = (await transport.declare(entry.hash, entry.size, entry.name)).offset;
        continue;
      }
      return false;
    }
    if (state.complete) return true;
    onBytes(Math.max(0, state.offset - offset));
    offset = state.offset;
  }
  // The server has every byte but did not say complete (verified elsewhere): ask once more.
  return (await transport.declare(entry.hash, entry.size)).complete;
}

export async function uploadPending(
  db: LifelineDb,
  transport: AttachmentTransport,
  options: { pieceBytes?: number; uploadsAtOnce?: number; onProgress?: (progress: UploadProgress) => void } = {},
): Promise<UploadReport> {
  const pieceBytes = options.pieceBytes ?? PIECE_BYTES;
  const pending = await pendingUploads(db);
  // Thumbnails first: others see that a photo exists (and what it shows) soonest.
  pending.sort(
    (a, b) => Number(a.role !== 'thumbnail') - Number(b.role !== 'thumbnail') || a.storedAt.localeCompare(b.storedAt),
  );
  const report: UploadReport = { uploaded: 0, refused: 0, failed: 0, stoppedBy: null };
  // What the progress counts: a file failed on the way leaves the total as well.
  let counted = [...pending];
  let remaining = [...pending];
  const itemsOf = (entries: AttachmentBlob[]) => {
    const summary = summarise(entries);
    return summary.photos + summary.files;
  };
  let bytesLeft = summarise(pending).bytes;
  const tell = () => {
    const photosTotal = itemsOf(counted);
    options.onProgress?.({ photosSent: photosTotal - itemsOf(remaining), photosTotal, bytesLeft });
  };
  tell();
  const queue = [...pending];
  const sendNext = async (entry: AttachmentBlob) => {
    let sentOfThis = 0;
    let done: boolean;
    try {
      done = await uploadOne(transport, entry, pieceBytes, (sent) => {
        sentOfThis += sent;
        bytesLeft -= sent;
        tell();
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const verdict = verdictOf(error);
      if (verdict === 'stop') {
        report.stoppedBy = error;
      } else if (verdict === 'later') {
        report.refused += 1;
      } else {
        await markFailed(db, entry.hash, failureOf(error));
        report.failed += 1;
        counted = counted.filter((other) => other.hash !== entry.hash);
        remaining = remaining.filter((other) => other.hash !== entry.hash);
        bytesLeft -= entry.size - sentOfThis;
        tell();
      }
      return;
    }
    if (!done) {
      report.refused += 1;
      return;
    }
    const stored = await db.get('attachments', entry.hash);
    if (stored) await db.put('attachments', { ...stored, uploaded: true });
    report.uploaded += 1;
    remaining = remaining.filter((other) => other.hash !== entry.hash);
    bytesLeft -= entry.size - sentOfThis;
    tell();
  };
  // A few files at once: on a link with long round trips one upload alone leaves it idle between pieces.
  const worker = async () => {
    for (let entry = queue.shift(); entry && !report.stoppedBy; entry = queue.shift()) await sendNext(entry);
  };
  const workers = Math.max(1, Math.min(options.uploadsAtOnce ?? UPLOADS_AT_ONCE, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return report;
}

export interface DownloadReport {
  downloaded: number;
  /** Named by a record but not on the server yet (404, or 409 still uploading): tried again next sync. */
  onItsWay: number;
  stoppedBy: ApiError | null;
}

/** What records name as their small images and this device lacks, each with the role it plays. */
async function missingThumbnails(db: LifelineDb): Promise<Map<string, AttachmentBlob['role']>> {
  const wanted = new Map<string, AttachmentBlob['role']>();
  for (const entityType of ['update', 'document']) {
    let cursor = await db.transaction('records').store.index('byType').openCursor(entityType);
    while (cursor) {
      if (cursor.value.deletedAt === null) {
        // Files (PDFs) have nothing to show small: they are fetched when someone opens them.
        for (const ref of attachmentsOf(cursor.value.fields).filter(isPhoto)) {
          wanted.set(thumbnailHashOf(ref), ref.thumbnailHash ? 'thumbnail' : 'full');
        }
      }
      cursor = await cursor.continue();
    }
  }
  for (const hash of [...wanted.keys()]) {
    if (await getAttachmentBlob(db, hash)) wanted.delete(hash);
  }
  return wanted;
}

function onItsWay(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 409);
}

export async function downloadThumbnails(db: LifelineDb, transport: AttachmentTransport): Promise<DownloadReport> {
  const report: DownloadReport = { downloaded: 0, onItsWay: 0, stoppedBy: null };
  for (const [hash, role] of await missingThumbnails(db)) {
    try {
      // An image standing in for a missing thumbnail stays with the thumbnails, outside the offline budget.
      await storeDownloaded(
        db,
        hash,
        await transport.download(hash),
        role,
        role === 'full' ? { shownSmall: true } : {},
      );
      report.downloaded += 1;
    } catch (error) {
      if (onItsWay(error)) {
        report.onItsWay += 1;
        continue;
      }
      if (error instanceof ApiError) {
        report.stoppedBy = error;
        return report;
      }
      throw error;
    }
  }
  return report;
}

/**
 * The full image, from this device or else from the server (then kept here
 * for offline use, within the budget: attachments/budget); null: not on the
 * server yet. Either way it counts as opened now.
 */
export async function fetchFullImage(
  db: LifelineDb,
  transport: AttachmentTransport,
  hash: string,
): Promise<AttachmentBlob | null> {
  const local = await getAttachmentBlob(db, hash);
  if (local) {
    await markOpened(db, hash);
    return local;
  }
  let blob: Blob;
  try {
    blob = await transport.download(hash);
  } catch (error) {
    if (onItsWay(error)) return null;
    throw error;
  }
  const openedAt = new Date().toISOString();
  try {
    const entry = await storeDownloaded(db, hash, blob, 'full', { openedAt });
    await enforcePhotoBudget(db, [hash]);
    return entry;
  } catch (error) {
    // The device is out of space: show the photo all the same, without keeping it.
    if (error instanceof DOMException && error.name === 'QuotaExceededError') {
      return downloadedEntry(hash, blob, 'full', { openedAt });
    }
    throw error;
  }
}
