import path from 'node:path';
import { apiAs, createPerson, expect, expectAccessible, goOffline, nav, signIn, syncNow, test } from './helpers';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
// Both carry an EXIF block and a comment naming a place, as a phone camera's photo would.
const PHOTOS = [path.join(FIXTURES, 'photo-1.jpg'), path.join(FIXTURES, 'photo-2.jpg')];

test('offline: photos attached to a new update survive a reload, upload on sync, and another member sees them', async ({
  browser,
  page,
  context,
}) => {
  const writer = await createPerson('volunteer', 'Pia');
  const reader = await createPerson('volunteer', 'Otto');
  const title = `Bridge damage ${Date.now().toString(36)}`;

  await signIn(page, writer);
  await goOffline(context, page);

  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(title);
  const picker = page.getByLabel('Add photos');
  await picker.setInputFiles(PHOTOS);
  const formPhotos = page.getByTestId('form-photos').getByTestId('photo-thumbnail');
  await expect(formPhotos).toHaveCount(2);
  // Removed before saving, then added again: the form holds what the person chose last.
  await page.getByRole('button', { name: 'Remove photo 2' }).click();
  await expect(formPhotos).toHaveCount(1);
  await picker.setInputFiles(PHOTOS[1]!);
  await expect(formPhotos).toHaveCount(2);
  await expectAccessible(page, 'new update with photos');
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(title);

  const gallery = page.getByRole('region', { name: 'Photos' });
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(2);

  await page.reload();
  await expect(page.getByTestId('update-title')).toHaveText(title);
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(2);
  for (const img of await gallery.getByTestId('photo-thumbnail').all()) {
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBeGreaterThan(0);
  }
  await expect(page.getByTestId('pending-badge')).toBeVisible();
  await expectAccessible(page, 'update with photos, pending');
  await expect(page.getByTestId('pending-count')).toHaveText(/1 change waiting to send .*and 2 photos \(\d+ KB\)/);

  await context.setOffline(false);
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByTestId('pending-badge')).toHaveCount(0);

  // On the server: both photos and their thumbnails, complete, re-encoded without the camera's metadata.
  const api = await apiAs(writer);
  const pull = await api.post('/api/sync/pull', { data: { clientId: 'e2e-photos', cursor: null, limit: 5000 } });
  const records = ((await pull.json()) as { records: Array<{ fields: Record<string, unknown> }> }).records;
  const record = records.find((r) => r.fields.title === title);
  const refs = record?.fields.attachments as Array<{ hash: string; thumbnailHash: string; width: number }>;
  expect(refs).toHaveLength(2);
  for (const ref of refs) {
    expect(ref.width).toBeLessThanOrEqual(1600);
    for (const hash of [ref.hash, ref.thumbnailHash]) {
      const response = await api.get(`/api/attachments/${hash}`);
      expect(response.status()).toBe(200);
      expect(response.headers()['content-type']).toBe('image/jpeg');
      const bytes = (await response.body()).toString('latin1');
      expect(bytes).not.toContain('Exif');
      expect(bytes).not.toContain('secret-location');
    }
  }
  await api.dispose();

  const second = await browser.newContext();
  const other = await second.newPage();
  await signIn(other, reader);
  await other.getByRole('link', { name: title }).click();
  const theirGallery = other.getByRole('region', { name: 'Photos' });
  await expect(theirGallery.getByTestId('photo-thumbnail')).toHaveCount(2);
  await expect(theirGallery.getByTestId('photo-waiting')).toHaveCount(0);
  await theirGallery.getByRole('button', { name: 'Open photo 1 of 2' }).click();
  const full = other.getByTestId('full-photo');
  await expect(full).toBeVisible();
  await expect.poll(() => full.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBeGreaterThan(0);
  expect(await full.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(800);
  await expectAccessible(other, 'update with a photo open');
  await second.close();
});

test('full photos kept offline within a budget the person sees and clears; offline, a cleared one shows its thumbnail', async ({
  page,
  context,
}) => {
  const writer = await createPerson('volunteer', 'Lena');
  const title = `Clinic queue ${Date.now().toString(36)}`;

  await signIn(page, writer);
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Add photos').setInputFiles(PHOTOS[0]!);
  await expect(page.getByTestId('form-photos').getByTestId('photo-thumbnail')).toHaveCount(1);
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(title);
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  // Sent: the server has the full image, so this copy counts as kept for offline use.
  await nav(page, 'Sync').click();
  const kept = page.getByTestId('photos-kept');
  await expect(kept).toHaveText(/^Photos and files kept offline: [\d.]+ [KM]?B of 50 MB$/);
  await page.getByLabel('Keep full-size photos and files offline up to').selectOption({ label: '20 MB' });
  await expect(page.getByTestId('photos-note')).toHaveText('Limit set to 20 MB.');
  await expect(kept).toHaveText(/^Photos and files kept offline: [\d.]+ [KM]?B of 20 MB$/);
  await expectAccessible(page, 'sync page with offline photos');
  await page.getByRole('button', { name: 'Clear offline photos and files' }).click();
  await expect(page.getByTestId('photos-note')).toHaveText(
    /^Freed 1 photo or file \([\d.]+ [KM]?B\)\. They load again/,
  );
  await expect(kept).toHaveText('Photos and files kept offline: 0 B of 20 MB');

  await goOffline(context, page);
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: title }).click();
  const gallery = page.getByRole('region', { name: 'Photos' });
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(1);
  await gallery.getByRole('button', { name: 'Open photo 1 of 1' }).click();
  const viewer = page.getByTestId('photo-viewer');
  await expect(viewer.getByTestId('photo-viewer-note')).toHaveText(
    'Full photo not kept offline: it loads when you are online.',
  );
  await expect(viewer.getByTestId('photo-thumbnail')).toBeVisible();
  await expectAccessible(page, 'photo not kept offline');

  // Online again: fetched again on opening.
  await context.setOffline(false);
  await expect(page.getByTestId('online-state')).toHaveText('Online');
  await page.getByRole('button', { name: 'Close photo' }).click();
  await gallery.getByRole('button', { name: 'Open photo 1 of 1' }).click();
  await expect
    .poll(() => page.getByTestId('full-photo').evaluate((el: HTMLImageElement) => el.naturalWidth))
    .toBeGreaterThan(0);
});

test.describe('when photos cannot be sent', () => {
  // Without the worker's Background Sync, only this page sends, so the route below sees every photo request
  // (Playwright's routes do not reach a service worker's own fetches).
  test.use({ serviceWorkers: 'block' });

  test('photos that cannot be sent do not hold up the update; others see "on its way" until they arrive', async ({
    browser,
    page,
    context,
  }) => {
    const writer = await createPerson('volunteer', 'Ines');
    const reader = await createPerson('volunteer', 'Hugo');
    const title = `Shelter roof ${Date.now().toString(36)}`;

    await signIn(page, writer);
    // The photo endpoints are unreachable (a proxy that drops large uploads, say); the rest of the API works.
    await context.route('**/api/attachments**', (route) => route.abort('connectionfailed'));
    await nav(page, 'Updates').click();
    await page.getByRole('link', { name: 'New update' }).click();
    await page.getByLabel('Title').fill(title);
    // A photo no earlier test sent (attachments are stored once per community, by content).
    const unique = await page.evaluate((text) => {
      const canvas = document.createElement('canvas');
      canvas.width = 800;
      canvas.height = 500;
      const g = canvas.getContext('2d')!;
      g.fillStyle = '#8d6e63';
      g.fillRect(0, 0, 800, 500);
      g.fillStyle = '#fff';
      g.font = '40px sans-serif';
      g.fillText(text, 40, 250);
      return canvas.toDataURL('image/jpeg', 0.9).split(',')[1]!;
    }, title);
    await page
      .getByLabel('Add photos')
      .setInputFiles({ name: 'roof.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(unique, 'base64') });
    await expect(page.getByTestId('form-photos').getByTestId('photo-thumbnail')).toHaveCount(1);
    await page.getByRole('button', { name: 'Post update' }).click();
    await expect(page.getByTestId('update-title')).toHaveText(title);
    await syncNow(page);
    await expect(page.getByTestId('pending-count')).toHaveText(/^1 photo \(\d+ KB\) waiting to send$/);
    await expect(page.getByTestId('pending-badge')).toHaveCount(0);
    await expect(page.getByTestId('photo-error')).toContainText('Cannot reach the server');

    const second = await browser.newContext();
    const other = await second.newPage();
    await signIn(other, reader);
    await other.getByRole('link', { name: title }).click();
    const theirGallery = other.getByRole('region', { name: 'Photos' });
    await expect(theirGallery.getByTestId('photo-waiting')).toHaveText('Photo still on its way');
    await theirGallery.getByRole('button', { name: 'Open photo 1 of 1' }).click();
    await expect(other.getByTestId('photo-viewer')).toContainText('Photo still on its way');

    await context.unroute('**/api/attachments**');
    await syncNow(page);
    await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

    await syncNow(other);
    await expect(theirGallery.getByTestId('photo-thumbnail')).toHaveCount(1);
    await expect(theirGallery.getByTestId('photo-waiting')).toHaveCount(0);
    await theirGallery.getByRole('button', { name: 'Open photo 1 of 1' }).click();
    await expect
      .poll(() => other.getByTestId('full-photo').evaluate((el: HTMLImageElement) => el.naturalWidth))
      .toBe(800);
    await second.close();
  });
});
