/**
 * Frontend benchmark (prints figures, asserts nothing):
 *   1. pull and apply 10,000 records into IndexedDB in headless Chromium, on
 *      loopback and again through a slow link (BENCH_LINK_KBIT each way,
 *      default 1,000 kbit/s, and BENCH_LINK_LATENCY_MS one way, default 300 ms),
 *   2. cold start with no network to the first render of the feed,
 *   3. gzipped size of the JavaScript the first page loads.
 * Starts the real backend on a throwaway Postgres database.
 * Run: npx tsx scripts/bench-frontend.ts [records]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_EXECUTABLE } from '../tests/e2e/chromium';
import { ensureFrontendBuilt, ROOT, startBackend } from '../tests/e2e/server';
import { ThrottledLink } from './bench/throttled-link';

const RECORDS = Number(process.argv[2] ?? 10_000);
/** Cold opens to time (a new browser process each): the first pays for the worker's start-up too. */
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const LINK_KBIT = Number(process.env.BENCH_LINK_KBIT ?? 1000);
const LATENCY_MS = Number(process.env.BENCH_LINK_LATENCY_MS ?? 300);
const ADMIN = { email: 'bench@bench.test', password: 'bench-password-1', displayName: 'Bench' };

async function seed(baseUrl: string): Promise<void> {
  const headers = { 'content-type': 'application/json', origin: baseUrl };
  const setup = await fetch(`${baseUrl}/api/auth/setup`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ community: 'Bench', ...ADMIN }),
  });
  if (setup.status !== 201) throw new Error(`setup: ${setup.status}`);
  const login = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify(ADMIN) });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const kinds = ['need', 'offer', 'incident', 'status'];
  for (let start = 0; start < RECORDS; start += 500) {
    const ms = String(Date.now()).padStart(15, '0');
    const changes = Array.from({ length: Math.min(500, RECORDS - start) }, (_, i) => {
      const n = start + i;
      const stamp = `${ms}:${String(i).padStart(5, '0')}:bench`;
      const fields = {
        kind: kinds[n % 4],
        title: `Benchmark update ${n}`,
        body: `Details for update ${n}: water, food and shelter near block ${n % 97}.`,
        location: { label: `Block ${n % 97}` },
        tags: ['bench', `t${n % 13}`],
      };
      return {
        changeId: crypto.randomUUID(),
        entityType: 'update',
        entityId: crypto.randomUUID(),
        op: 'upsert',
        fields,
        stamps: Object.fromEntries(Object.keys(fields).map((f) => [f, stamp])),
        base: Object.fromEntries(Object.keys(fields).map((f) => [f, null])),
        clientTime: new Date().toISOString(),
      };
    });
    const response = await fetch(`${baseUrl}/api/sync/push`, {
      method: 'POST',
      headers: { ...headers, cookie },
      body: JSON.stringify({ clientId: 'bench-seeder', changes }),
    });
    if (!response.ok) throw new Error(`push: ${response.status} ${await response.text()}`);
  }
}

function launch(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_EXECUTABLE,
    args: CHROMIUM_ARGS,
    viewport: { width: 412, height: 915 },
  });
}

/** The sync log entry of the first sync after sign-in: the engine's own start and finish times. */
async function firstPullTiming(
  context: BrowserContext,
  baseUrl: string,
  options: { waitForWorker?: boolean; beforeSignIn?: () => void } = {},
) {
  const page = context.pages()[0] ?? (await context.newPage());
  const jsFiles = new Set<string>();
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === baseUrl && url.pathname.endsWith('.js') && url.pathname !== '/service-worker.js')
      jsFiles.add(url.pathname);
  });
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  options.beforeSignIn?.();
  const clickedAt = Date.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  const readLog = () =>
    page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('lifeline');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const log = await new Promise<Array<{ ok: boolean; pulled: number; startedAt: string; finishedAt: string }>>(
        (resolve) => {
          const request = db.transaction('syncLog').objectStore('syncLog').getAll();
          request.onsuccess = () => resolve(request.result);
        },
      );
      db.close();
      return log.find((e) => e.ok && e.pulled > 0) ?? null;
    });
  let log = await readLog();
  for (const deadline = Date.now() + 120_000; !log && Date.now() < deadline; log = await readLog()) {
    await page.waitForTimeout(250);
  }
  if (!log) throw new Error('no completed sync within 2 minutes');
  if (options.waitForWorker ?? true) {
    await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, {
      timeout: 30_000,
    });
  }
  return {
    pulled: log.pulled,
    engineMs: Date.parse(log.finishedAt) - Date.parse(log.startedAt),
    signInToSyncedMs: Date.parse(log.finishedAt) - clickedAt,
    jsFiles: [...jsFiles],
  };
}

/** The same first sync through a slow link, in a browser profile of its own. */
async function slowLinkPull(baseUrl: string): Promise<void> {
  // The app loads at full speed; the link slows down from the sign-in on (what is timed is the sync).
  const link = await ThrottledLink.start(Number(new URL(baseUrl).port), Infinity, 0);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'lifeline-bench-slow-'));
  try {
    const context = await launch(userDataDir);
    let before = 0;
    const pull = await firstPullTiming(context, `http://127.0.0.1:${link.port}`, {
      // Not waiting for the service worker: over this link it may still be caching the app.
      waitForWorker: false,
      beforeSignIn: () => {
        link.shape(LINK_KBIT * 1000, LATENCY_MS);
        before = link.down.bytes;
      },
    });
    await context.close();
    console.log(
      `  over ${LINK_KBIT} kbit/s with ${LATENCY_MS} ms each way: pull + apply ${pull.pulled} records ${pull.engineMs} ms ` +
        `(${Math.round((link.down.bytes - before) / 1024)} KB down from the sign-in on)`,
    );
  } finally {
    rmSync(userDataDir, { recursive: true, force: true });
    await link.close();
  }
}

async function coldOfflineOpen(userDataDir: string, baseUrl: string) {
  const context = await launch(userDataDir);
  await context.setOffline(true);
  // Timed inside the page, when the first card enters the DOM, so the figure
  // does not include Playwright's polling.
  await context.addInitScript(() => {
    const timing = window as unknown as { __firstCardAt?: number };
    new MutationObserver((_records, observer) => {
      if (document.querySelector('[data-testid="update-card"]')) {
        timing.__firstCardAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const started = Date.now();
  await page.goto(baseUrl);
  await page.getByTestId('update-card').first().waitFor();
  const wallMs = Date.now() - started;
  const inPage = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    return {
      firstCard: (window as unknown as { __firstCardAt?: number }).__firstCardAt ?? null,
      htmlServed: nav ? nav.responseEnd : null,
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      now: performance.now(),
    };
  });
  const shown = await page.getByTestId('update-card').count();
  // The rest of the feed replaces the first page once loaded.
  await page
    .getByTestId('feed-count')
    .filter({ hasText: /^\s*\d+ of \d+/ })
    .waitFor({ timeout: 30_000 });
  const allLoadedMs = Math.round(await page.evaluate(() => performance.now()));
  await context.close();
  const round = (n: number | null) => (n === null ? null : Math.round(n));
  return {
    wallMs,
    firstCardMs: round(inPage.firstCard),
    htmlServedMs: round(inPage.htmlServed),
    domContentLoadedMs: round(inPage.domContentLoaded),
    sinceNavigationMs: round(inPage.now),
    allLoadedMs,
    cardsRendered: shown,
  };
}

function gzippedSize(files: string[]): { files: number; rawKb: number; gzipKb: number } {
  let raw = 0;
  let gz = 0;
  for (const file of files) {
    const bytes = readFileSync(path.join(ROOT, 'frontend/build', file));
    raw += bytes.length;
    gz += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: files.length, rawKb: Math.round(raw / 102.4) / 10, gzipKb: Math.round(gz / 102.4) / 10 };
}

async function main(): Promise<void> {
  ensureFrontendBuilt();
  const backend = await startBackend('bench');
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'lifeline-bench-'));
  try {
    const seedStart = Date.now();
    await seed(backend.baseUrl);
    console.log(`seeded ${RECORDS} updates through /api/sync/push in ${Date.now() - seedStart} ms`);

    const context = await launch(userDataDir);
    const pull = await firstPullTiming(context, backend.baseUrl);
    await context.close();
    console.log(
      `pull + apply ${pull.pulled} records into IndexedDB: ${pull.engineMs} ms (sync engine, start to finish)`,
    );
    console.log(`  sign-in click to first sync finished: ${pull.signInToSyncedMs} ms`);
    await slowLinkPull(backend.baseUrl);

    for (let run = 1; run <= COLD_RUNS; run += 1) {
      const cold = await coldOfflineOpen(userDataDir, backend.baseUrl);
      console.log(
        `cold offline open #${run}: first feed card in the DOM ${cold.firstCardMs} ms after navigation start ` +
          `(HTML from the service worker ${cold.htmlServedMs} ms, DOMContentLoaded ${cold.domContentLoadedMs} ms; ` +
          `seen by the test at ${cold.sinceNavigationMs} ms, ${cold.wallMs} ms wall; ${cold.cardsRendered} cards; ` +
          `all updates loaded ${cold.allLoadedMs} ms)`,
      );
    }

    const js = gzippedSize(pull.jsFiles);
    console.log(`JS loaded by the first page: ${js.files} files, ${js.rawKb} KB raw, ${js.gzipKb} KB gzipped`);
  } finally {
    rmSync(userDataDir, { recursive: true, force: true });
    await backend.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
