/**
 * npm run bench:attachments — photos over a bad link (prints figures, asserts nothing).
 *
 * The real PWA in headless Chromium, offline, takes BENCH_PHOTOS phone-sized
 * JPEGs (4032×3024, made fresh each run so every one has its own hash)
 * through the "Add photos" chooser, ten to an update. Then it comes online
 * through a throttled link (BENCH_LINK_KBIT, default 1,000 kbit/s each way,
 * BENCH_LINK_LATENCY_MS one way, default 300; the app was installed over a
 * fast one) and syncs until every photo is
 * on the server. Reports the time to prepare (re-encode) the photos, the
 * time to sync them, the bytes that crossed the link each way, and the
 * page's JavaScript heap while it did so. The real backend runs on a
 * throwaway Postgres database.
 *
 *   BENCH_PHOTOS=100 BENCH_LINK_KBIT=1000 BENCH_LINK_LATENCY_MS=300
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_EXECUTABLE } from '../tests/e2e/chromium';
import { ensureFrontendBuilt, startBackend } from '../tests/e2e/server';
import { ThrottledLink } from './bench/throttled-link';

const PHOTOS = Number(process.env.BENCH_PHOTOS ?? 100);
const LINK_BITS = Number(process.env.BENCH_LINK_KBIT ?? 1000) * 1000;
const LATENCY_MS = Number(process.env.BENCH_LINK_LATENCY_MS ?? 300);
const PER_UPDATE = 10;
const ADMIN = { email: 'bench@bench.test', password: 'bench-password-1', displayName: 'Bench' };

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

// Plain JavaScript run in the page (as text: tsx would wrap a function's inner functions in helpers the page lacks).
const PAINT = `async (n) => {
  const canvas = new OffscreenCanvas(4032, 3024);
  const g = canvas.getContext('2d');
  let state = n * 7919 + 1;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const sky = g.createLinearGradient(0, 0, 0, 3024);
  sky.addColorStop(0, 'hsl(' + random() * 360 + ' 60% 70%)');
  sky.addColorStop(1, 'hsl(' + random() * 360 + ' 40% 30%)');
  g.fillStyle = sky;
  g.fillRect(0, 0, 4032, 3024);
  for (let i = 0; i < 60; i++) {
    g.fillStyle = 'hsla(' + random() * 360 + ' 50% ' + (20 + random() * 60) + '% / 0.7)';
    g.fillRect(random() * 4032, random() * 3024, random() * 900, random() * 700);
  }
  const grain = g.getImageData(0, 0, 4032, 3024);
  for (let i = 0; i < grain.data.length; i += 4) {
    const noise = (random() - 0.5) * 24;
    grain.data[i] += noise;
    grain.data[i + 1] += noise;
    grain.data[i + 2] += noise;
  }
  g.putImageData(grain, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}`;

/** Phone-camera-like JPEGs drawn in a page: gradients, shapes and grain, different per seed. */
async function makePhotos(page: Page, count: number, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (let seed = 0; seed < count; seed++) {
    const base64 = await page.evaluate<string>(`(${PAINT})(${seed})`);
    const file = path.join(dir, `photo-${String(seed).padStart(3, '0')}.jpg`);
    writeFileSync(file, Buffer.from(base64, 'base64'));
    files.push(file);
  }
  return files;
}

async function main() {
  ensureFrontendBuilt();
  const backend = await startBackend('bench_photos');
  const port = Number(new URL(backend.baseUrl).port);
  // Fast while the app is installed and the photos are taken; slow from the reconnect on.
  const link = await ThrottledLink.start(port, Infinity, 0);
  const appUrl = `http://127.0.0.1:${link.port}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeline-bench-photos-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM_EXECUTABLE, args: CHROMIUM_ARGS });
  try {
    const setup = await fetch(`${backend.baseUrl}/api/auth/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: backend.baseUrl },
      body: JSON.stringify({ community: 'Bench', ...ADMIN }),
    });
    if (setup.status !== 201) throw new Error(`setup: ${setup.status}`);

    const painter = await browser.newPage();
    const files = await makePhotos(painter, PHOTOS, dir);
    await painter.close();
    const originalBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    console.log(`Lifeline photo benchmark — ${PHOTOS} photos of 4032×3024 (${mb(originalBytes)} as taken)`);
    console.log(`  link: ${LINK_BITS / 1000} kbit/s each way, ${LATENCY_MS} ms one way\n`);

    const context = await browser.newContext({ viewport: { width: 412, height: 915 } });
    const page = await context.newPage();
    await page.goto(`${appUrl}/login`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Updates' }).waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, {
      timeout: 120_000,
    });
    await page.getByTestId('pending-count').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 120_000 });

    // Offline: every photo is taken and kept on the device first.
    await context.setOffline(true);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value ?? 0;
    };
    let peakHeap = await heap();
    const heapAtStart = peakHeap;
    const sampler = setInterval(() => {
      void heap().then((value) => (peakHeap = Math.max(peakHeap, value)));
    }, 250);

    const prepareStarted = performance.now();
    for (let start = 0; start < files.length; start += PER_UPDATE) {
      const batch = files.slice(start, start + PER_UPDATE);
      await page.goto(`${appUrl}/updates/new`);
      await page.getByLabel('Title').fill(`Photos ${start + 1}–${start + batch.length}`);
      await page.getByLabel('Add photos').setInputFiles(batch);
      await page
        .getByTestId('form-photos')
        .locator('li')
        .nth(batch.length - 1)
        .waitFor({ timeout: 120_000 });
      await page.getByRole('button', { name: 'Post update' }).click();
      await page.getByTestId('update-title').waitFor();
    }
    const prepareMs = performance.now() - prepareStarted;
    const stored = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);

    // Online through the slow link: the reconnect starts a sync; wait for the last photo.
    link.shape(LINK_BITS, LATENCY_MS);
    const upBefore = link.up.bytes;
    const downBefore = link.down.bytes;
    const syncStarted = performance.now();
    await context.setOffline(false);
    await page.getByTestId('pending-count').filter({ hasText: 'All changes sent' }).waitFor({ timeout: 3_600_000 });
    const syncMs = performance.now() - syncStarted;
    clearInterval(sampler);
    const up = link.up.bytes - upBefore;
    const down = link.down.bytes - downBefore;

    const linkSeconds = (up * 8) / LINK_BITS;
    console.log(
      `  prepare (decode, re-encode to 1600 px + 320 px thumbnail, hash, keep): ${(prepareMs / PHOTOS).toFixed(0)} ms per photo`,
    );
    console.log(`  kept on the device: ${mb(stored)} (IndexedDB and caches, as navigator.storage.estimate counts)`);
    console.log(`  sync after reconnect: ${(syncMs / 1000).toFixed(1)} s until every photo was on the server`);
    console.log(`  on the link: ${mb(up)} up (${(up / PHOTOS / 1000).toFixed(0)} KB per photo), ${mb(down)} down`);
    console.log(
      `  link busy sending: ${linkSeconds.toFixed(1)} s of the ${(syncMs / 1000).toFixed(1)} s (${((linkSeconds * 1000 * 100) / syncMs).toFixed(0)}% use of the uplink)`,
    );
    console.log(`  page JS heap: ${mb(heapAtStart)} before, ${mb(peakHeap)} at the peak while preparing and sending`);
    await context.close();
  } finally {
    await browser.close();
    await link.close();
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
