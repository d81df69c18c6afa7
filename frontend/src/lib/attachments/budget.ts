/**
 * Full-size photos kept for offline use, within a budget the person sets
 * (Sync page): after each download, and when the budget changes, the least
 * recently opened go until the rest fit. Evicted photos are fetched again
 * when opened online; offline the thumbnail shows instead.
 *
 * What counts (isKeptOffline): full-size images the server holds. That is
 * what was downloaded on opening a thumbnail, and also this device's own
 * photos once uploaded: the server has them, so this copy is a cache like
 * any downloaded one, and leaving them out would let someone who posts many
 * photos fill the device without the budget (or the "Clear" button) ever
 * showing it. Never counted, never removed: thumbnails (and images that
 * stand in for a missing thumbnail, `shownSmall`), and anything not yet
 * uploaded (the only copy of a photo on its way).
 */
import { getMeta, setMeta, type AttachmentBlob, type LifelineDb } from '$lib/db';

const MB = 1024 * 1024;
export const DEFAULT_PHOTO_BUDGET = 50 * MB;
/** The choices the Sync page offers. */
export const PHOTO_BUDGET_CHOICES = [20 * MB, 50 * MB, 200 * MB] as const;

/** Full images the server has (so they can be fetched again): what the budget counts and may remove. */
export function isKeptOffline(entry: AttachmentBlob): boolean {
  return entry.role === 'full' && entry.uploaded && !entry.shownSmall;
}

/** When it was last of use here: opened, or else stored. */
function lastUsed(entry: AttachmentBlob): string {
  return entry.openedAt ?? entry.storedAt;
}

// Full images on screen now (PhotoGallery): never evicted while shown.
const shown = new Map<string, number>();

/** Keep `hash` while it is shown; call the returned function when it is no longer shown. */
export function holdShown(hash: string): () => void {
  shown.set(hash, (shown.get(hash) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (shown.get(hash) ?? 1) - 1;
    if (left > 0) shown.set(hash, left);
    else shown.delete(hash);
  };
}

export async function photoBudget(db: LifelineDb): Promise<number> {
  return budgetOf(await getMeta(db, 'photoBudgetBytes'));
}

function budgetOf(stored: unknown): number {
  return typeof stored === 'number' && stored >= 0 ? stored : DEFAULT_PHOTO_BUDGET;
}

export interface KeptOffline {
  bytes: number;
  photos: number;
  budget: number;
}

export async function keptOffline(db: LifelineDb): Promise<KeptOffline> {
  const kept: KeptOffline = { bytes: 0, photos: 0, budget: await photoBudget(db) };
  let cursor = await db.transaction('attachments').store.openCursor();
  while (cursor) {
    if (isKeptOffline(cursor.value)) {
      kept.bytes += cursor.value.size;
      kept.photos += 1;
    }
    cursor = await cursor.continue();
  }
  return kept;
}

export interface Freed {
  photos: number;
  bytes: number;
}

/**
 * Remove the least recently opened kept-offline images until the rest fit
 * the budget. `keep`: hashes not to remove (the one just opened), besides
 * those on screen. One transaction: a photo opened meanwhile is not lost halfway.
 */
export async function enforcePhotoBudget(db: LifelineDb, keep: Iterable<string> = []): Promise<Freed> {
  const spared = new Set([...keep, ...shown.keys()]);
  const tx = db.transaction(['attachments', 'meta'], 'readwrite');
  const budget = budgetOf(await tx.objectStore('meta').get('photoBudgetBytes'));
  const candidates: Array<{ hash: string; size: number; lastUsed: string }> = [];
  let total = 0;
  let cursor = await tx.objectStore('attachments').openCursor();
  while (cursor) {
    const entry = cursor.value;
    if (isKeptOffline(entry)) {
      total += entry.size;
      if (!spared.has(entry.hash)) candidates.push({ hash: entry.hash, size: entry.size, lastUsed: lastUsed(entry) });
    }
    cursor = await cursor.continue();
  }
  candidates.sort((a, b) => a.lastUsed.localeCompare(b.lastUsed));
  const freed: Freed = { photos: 0, bytes: 0 };
  for (const candidate of candidates) {
    if (total <= budget) break;
    await tx.objectStore('attachments').delete(candidate.hash);
    total -= candidate.size;
    freed.photos += 1;
    freed.bytes += candidate.size;
  }
  await tx.done;
  return freed;
}

/** Set the budget and remove what no longer fits. */
export async function setPhotoBudget(db: LifelineDb, bytes: number): Promise<Freed> {
  await setMeta(db, 'photoBudgetBytes', Math.max(0, Math.round(bytes)));
  return enforcePhotoBudget(db);
}

/** "Clear offline photos and files": every kept-offline image or PDF (not thumbnails, not what waits to be sent). */
export async function clearKeptOffline(db: LifelineDb): Promise<Freed> {
  const tx = db.transaction('attachments', 'readwrite');
  const freed: Freed = { photos: 0, bytes: 0 };
  let cursor = await tx.store.openCursor();
  while (cursor) {
    if (isKeptOffline(cursor.value) && !shown.has(cursor.value.hash)) {
      freed.photos += 1;
      freed.bytes += cursor.value.size;
      await cursor.delete();
    }
    cursor = await cursor.continue();
  }
  await tx.done;
  return freed;
}

/** Note that a full image was opened now (it moves to the back of the eviction order). */
export async function markOpened(db: LifelineDb, hash: string, at = new Date()): Promise<void> {
  const tx = db.transaction('attachments', 'readwrite');
  const entry = await tx.store.get(hash);
  if (entry) await tx.store.put({ ...entry, openedAt: at.toISOString() });
  await tx.done;
}
