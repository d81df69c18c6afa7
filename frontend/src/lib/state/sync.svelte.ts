/**
 * The app's live sync status and the scheduler that decides when to sync:
 * on start, every N minutes (15 by default), when the browser comes back
 * online, on the sync button, and when the service worker's Background Sync
 * fires. Failures back off exponentially with jitter, capped at the interval.
 */
import { invalidate } from '$app/navigation';
import { navigating } from '$app/state';
import type { SyncErrorState } from '$lib/db';
import { getMeta } from '$lib/db';
import { api, attachments, getDb } from '$lib/app';
import { pendingSummary } from '$lib/attachments/store';
import { failedSummary, type FailedSummary } from '$lib/attachments/failed';
import { outboxSummary } from '$lib/sync/outbox';
import { storageUse } from '$lib/util/storage';
import type { UploadProgress } from '$lib/attachments/queue';
import { runPhotoTransfer, runSync, type SyncProgress } from '$lib/sync/engine';

export const DEFAULT_INTERVAL_MINUTES = 15;
const INTERVAL_KEY = 'lifeline.syncIntervalMinutes';
const CHANNEL = 'lifeline';
/** Edits on data older than this get a warning: the person may be working from stale facts. */
export const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

type Message = { type: 'data-changed' } | { type: 'synced' };

class SyncState {
  online = $state(true);
  syncing = $state(false);
  progress = $state<SyncProgress | null>(null);
  lastSyncAt = $state<string | null>(null);
  lastAttemptAt = $state<string | null>(null);
  nextSyncAt = $state<string | null>(null);
  lastError = $state<SyncErrorState | null>(null);
  pending = $state(0);
  /** Photos not yet entirely on the server, and their bytes still to send. */
  pendingPhotos = $state(0);
  /** Of what waits: files (a document's PDFs), not photos; their bytes are in pendingPhotoBytes. */
  pendingFiles = $state(0);
  pendingPhotoBytes = $state(0);
  /** Grows when photos arrive from the server, so shown thumbnails look again. */
  photosVersion = $state(0);
  /** Photos go after each sync, on their own: a long upload never holds up the records. */
  sendingPhotos = $state(false);
  photoProgress = $state<UploadProgress | null>(null);
  photoError = $state<string | null>(null);
  /** Photos and files the server refused for good: shown, not counted as waiting (attachments/failed). */
  failedUploads = $state<FailedSummary>({ count: 0, photos: 0, files: 0, reasons: [] });
  /** The browser's estimate says over 80% of this site's quota is used (util/storage). */
  storageNearlyFull = $state(false);
  oldestPending = $state<string | null>(null);
  attention = $state(0);
  openConflicts = $state(0);
  authRequired = $state(false);
  intervalMinutes = $state(DEFAULT_INTERVAL_MINUTES);

  get stale(): boolean {
    return !this.lastSyncAt || Date.now() - Date.parse(this.lastSyncAt) > STALE_AFTER_MS;
  }
}

export const sync = new SyncState();

let timer: ReturnType<typeof setTimeout> | undefined;
let channel: BroadcastChannel | undefined;
let started = false;

/** Re-read counts and times from IndexedDB (another tab or the service worker may have synced). */
export async function refreshStatus(): Promise<void> {
  const db = await getDb();
  const summary = await outboxSummary(db);
  sync.pending = summary.count;
  sync.oldestPending = summary.oldest;
  const photos = await pendingSummary(db);
  sync.pendingPhotos = photos.photos;
  sync.pendingFiles = photos.files;
  sync.pendingPhotoBytes = photos.bytes;
  const failed = await failedSummary(db);
  // Thumbnails shown say "could not be sent" (or stop saying it) as soon as that changes.
  if (failed.count !== sync.failedUploads.count) sync.photosVersion += 1;
  sync.failedUploads = failed;
  sync.storageNearlyFull = (await storageUse().catch(() => null))?.nearlyFull ?? false;
  sync.attention = await db.count('needsAttention');
  sync.lastSyncAt = (await getMeta(db, 'lastSyncAt')) ?? null;
  sync.lastAttemptAt = (await getMeta(db, 'lastAttemptAt')) ?? null;
  sync.lastError = (await getMeta(db, 'lastError')) ?? null;
  sync.authRequired = (await getMeta(db, 'authRequired')) ?? false;
  const conflicts = await db.getAllFromIndex('records', 'byType', 'conflict');
  sync.openConflicts = conflicts.filter((c) => c.fields.status === 'open' && c.deletedAt === null).length;
}

function schedule(delayMs: number): void {
  clearTimeout(timer);
  sync.nextSyncAt = new Date(Date.now() + delayMs).toISOString();
  timer = setTimeout(() => void syncNow('timer'), delayMs);
}

async function backoffDelay(): Promise<number> {
  const intervalMs = sync.intervalMinutes * 60_000;
  const failures = (await getMeta(await getDb(), 'failures')) ?? 0;
  if (failures === 0) return intervalMs;
  const base = Math.min(intervalMs, 10_000 * 2 ** Math.min(failures - 1, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export async function syncNow(reason: string): Promise<void> {
  if (sync.syncing) return;
  if (!navigator.onLine) {
    sync.online = false;
    schedule(sync.intervalMinutes * 60_000);
    return;
  }
  sync.syncing = true;
  try {
    const db = await getDb();
    const report = await runSync({ db, api, reason, onProgress: (p) => (sync.progress = p) });
    if (report.ok) void sendPhotos();
    if (!report.skipped) {
      channel?.postMessage({ type: 'synced' } satisfies Message);
      if (report.pushed + report.pulled + report.rejected > 0) await refreshData();
    }
  } finally {
    sync.syncing = false;
    sync.progress = null;
    await refreshStatus();
    schedule(await backoffDelay());
  }
}

/** Send what photos wait, then fetch the thumbnails records name that this device lacks. */
async function sendPhotos(): Promise<void> {
  if (sync.sendingPhotos) return;
  sync.sendingPhotos = true;
  try {
    const report = await runPhotoTransfer({
      db: await getDb(),
      attachments,
      onProgress: (p) => (sync.photoProgress = p),
    });
    if (report.skipped) return;
    sync.photoError = report.error;
    if (report.uploaded + report.downloaded > 0) channel?.postMessage({ type: 'synced' } satisfies Message);
    if (report.downloaded > 0) sync.photosVersion += 1;
  } finally {
    sync.sendingPhotos = false;
    sync.photoProgress = null;
    await refreshStatus();
  }
}

/**
 * Re-run the current screen's load after data changed in the background.
 * Skipped while the person is navigating: SvelteKit lets the latest load win,
 * so an invalidation started mid-navigation would cancel where they were going
 * (the destination reads IndexedDB fresh anyway).
 */
export async function refreshData(): Promise<void> {
  if (navigating.to) return;
  await invalidate('app:data');
}

/** After every local edit: update counts, tell other tabs, and ask for a Background Sync. */
export async function localChange(): Promise<void> {
  channel?.postMessage({ type: 'data-changed' } satisfies Message);
  await refreshStatus();
  await invalidate('app:data');
  const registration = await navigator.serviceWorker?.getRegistration();
  const syncManager = (
    registration as (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }) | undefined
  )?.sync;
  await syncManager?.register('lifeline-sync').catch(() => undefined);
}

export function setIntervalMinutes(minutes: number): void {
  sync.intervalMinutes = Math.max(1, Math.min(24 * 60, Math.round(minutes)));
  localStorage.setItem(INTERVAL_KEY, String(sync.intervalMinutes));
  schedule(sync.intervalMinutes * 60_000);
}

export function startSyncScheduler(): void {
  if (started) return;
  started = true;
  const stored = Number(localStorage.getItem(INTERVAL_KEY));
  if (stored > 0) sync.intervalMinutes = stored;
  sync.online = navigator.onLine;
  window.addEventListener('online', () => {
    sync.online = true;
    void syncNow('online');
  });
  window.addEventListener('offline', () => (sync.online = false));
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = () => {
    sync.photosVersion += 1;
    void refreshStatus();
    void refreshData();
  };
  // The service worker tells us when a Background Sync ran while we were open.
  navigator.serviceWorker?.addEventListener('message', (event: MessageEvent<{ type?: string }>) => {
    if (event.data?.type === 'synced') {
      sync.photosVersion += 1;
      void refreshStatus();
      void refreshData();
    }
  });
  // Staleness and "x minutes ago" wording move with time even when nothing syncs.
  setInterval(() => void refreshStatus(), 30_000);
  void refreshStatus().then(() => syncNow('start'));
}
