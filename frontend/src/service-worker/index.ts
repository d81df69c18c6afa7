/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * Precaches the app shell under a versioned cache so the app opens with no
 * network, deletes older caches on activation, and never touches /api/*:
 * data lives in IndexedDB, so an API answer is never served stale from here.
 */
import { build, files, version } from '$service-worker';
import { createApiClient } from '$lib/api/client';
import { endpoints } from '$lib/api/endpoints';
import { openLifelineDb } from '$lib/db';
import { createAttachmentTransport } from '$lib/attachments/transport';
import { runSync } from '$lib/sync/engine';

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `lifeline-${version}`;
const SHELL = '/';
const ASSETS = [SHELL, ...build, ...files];

sw.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)));
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
      // The first install takes control at once, so the very first visit already works offline.
      await sw.clients.claim();
    })(),
  );
});

// "A new version is ready — reload": the page asks the waiting worker to take over.
sw.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void sw.skipWaiting();
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin || url.pathname.startsWith('/api/')) return;

  if (request.mode === 'navigate') {
    // Every client route is the same SPA shell.
    event.respondWith(caches.match(SHELL).then((cached) => cached ?? fetch(request)));
    return;
  }
  if (ASSETS.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((cached) => cached ?? fetch(request)));
  }
});

interface SyncEvent extends ExtendableEvent {
  tag: string;
}

// Background Sync: send the outbox even if the person closed the tab after editing offline.
sw.addEventListener('sync' as 'message', (event) => {
  const syncEvent = event as unknown as SyncEvent;
  if (syncEvent.tag !== 'lifeline-sync') return;
  syncEvent.waitUntil(
    (async () => {
      const db = await openLifelineDb();
      const api = endpoints(createApiClient());
      const report = await runSync({ db, api, reason: 'background', attachments: createAttachmentTransport() });
      for (const client of await sw.clients.matchAll()) client.postMessage({ type: 'synced' });
      // Rejecting asks the browser to retry later (with its own backoff) when the network failed.
      if (report.error && !report.authRequired) throw new Error(report.error.message);
    })(),
  );
});
