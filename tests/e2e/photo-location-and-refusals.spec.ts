import path from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';
import { apiAs, createPerson, expect, expectAccessible, nav, signIn, syncNow, test } from './helpers';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
// photo-1.jpg with an EXIF GPS block naming 51° 30' 2.52" N, 0° 7' 28.56" W (51.5007, -0.1246).
const GPS_PHOTO = path.join(FIXTURES, 'photo-gps.jpg');
const PLAIN_PHOTO = path.join(FIXTURES, 'photo-1.jpg');

interface ServerUpdate {
  fields: { title?: string; location?: unknown; attachments?: Array<{ hash: string; thumbnailHash: string }> };
}

/** A JPEG no other test has sent (the server and other devices may hold the fixtures' re-encodings already). */
async function uniquePhoto(page: Page, name: string): Promise<{ name: string; mimeType: string; buffer: Buffer }> {
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 400;
    canvas.height = 300;
    const context = canvas.getContext('2d')!;
    for (let i = 0; i < 40; i += 1) {
      context.fillStyle = `hsl(${Math.random() * 360} 70% 50%)`;
      context.fillRect(Math.random() * 400, Math.random() * 300, 60, 60);
    }
    return canvas.toDataURL('image/jpeg', 0.9);
  });
  return { name, mimeType: 'image/jpeg', buffer: Buffer.from(dataUrl.split(',')[1]!, 'base64') };
}

async function serverUpdate(api: APIRequestContext, title: string): Promise<ServerUpdate | undefined> {
  const pull = await api.post('/api/sync/pull', { data: { clientId: 'e2e-photo-gps', cursor: null, limit: 5000 } });
  return ((await pull.json()) as { records: ServerUpdate[] }).records.find((r) => r.fields.title === title);
}

test("a photo's coordinates go on the update only when chosen, and never in the photo's bytes", async ({ page }) => {
  const writer = await createPerson('volunteer', 'Gita');
  const chosen = `Flooded road ${Date.now().toString(36)}`;
  const declined = `Fallen tree ${Date.now().toString(36)}`;
  await signIn(page, writer);

  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(chosen);
  await page.getByLabel('Place').fill('Mill Lane');
  // A photo without coordinates offers nothing.
  await page.getByLabel('Add photos').setInputFiles(PLAIN_PHOTO);
  await expect(page.getByTestId('form-photos').getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(page.getByTestId('photo-location-choice')).toHaveCount(0);
  await page.getByRole('button', { name: 'Remove photo 1' }).click();

  await page.getByLabel('Add photos').setInputFiles(GPS_PHOTO);
  const choice = page.getByLabel(/Use this photo's location for the update/);
  await expect(choice).toBeVisible();
  await expect(page.getByTestId('photo-location-choice')).toContainText('51.50070, -0.12460');
  await expect(choice).not.toBeChecked();
  await expectAccessible(page, 'new update offering the photo location');
  await choice.check();
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(chosen);

  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(declined);
  await page.getByLabel('Add photos').setInputFiles(GPS_PHOTO);
  await expect(page.getByLabel(/Use this photo's location for the update/)).not.toBeChecked();
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(declined);

  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  const api = await apiAs(writer);
  const withLocation = await serverUpdate(api, chosen);
  // The place typed stays; the coordinates come from the photo.
  expect(withLocation?.fields.location).toEqual({ label: 'Mill Lane', lat: 51.5007, lon: -0.1246 });
  expect((await serverUpdate(api, declined))?.fields.location).toBeNull();
  // Either way the photo's bytes carry no EXIF, so no coordinates.
  for (const title of [chosen, declined]) {
    const refs = (await serverUpdate(api, title))?.fields.attachments ?? [];
    expect(refs).toHaveLength(1);
    for (const hash of [refs[0]!.hash, refs[0]!.thumbnailHash]) {
      const response = await api.get(`/api/attachments/${hash}`);
      expect(response.status()).toBe(200);
      const bytes = (await response.body()).toString('latin1');
      expect(bytes).not.toContain('Exif');
      expect(bytes).not.toContain('secret-location');
    }
  }
  await api.dispose();
});

test('a photo the server refuses for good is shown as not sent, not retried, and can be retried or removed', async ({
  page,
  context,
}) => {
  const writer = await createPerson('volunteer', 'Remy');
  const title = `Shelter roof ${Date.now().toString(36)}`;
  const second = `Shelter door ${Date.now().toString(36)}`;
  const third = `Shelter gate ${Date.now().toString(36)}`;
  await signIn(page, writer);

  // The community's room on the server is full: every declaration is refused.
  let declarations = 0;
  await context.route('**/api/attachments', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    declarations += 1;
    await route.fulfill({
      status: 413,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'quota_exceeded', message: 'this community may hold no more' } }),
    });
  });

  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Add photos').setInputFiles(await uniquePhoto(page, 'roof.jpg'));
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(title);
  await syncNow(page);

  const failed = page.getByTestId('failed-uploads');
  await expect(failed).toContainText("1 photo could not be sent: the community's storage on the server is full.");
  await expectAccessible(page, 'update with a photo that could not be sent');
  // Not counted as waiting: the record went, and nothing else waits.
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByRole('region', { name: 'Photos' }).getByTestId('photo-failed')).toHaveText(
    "Could not be sent: the community's storage on the server is full",
  );

  // The next sync leaves it alone.
  // Its thumbnail and the image, each refused once (the photo transfer runs on after the sync button is back).
  await expect.poll(() => declarations).toBe(2);
  const refusedSoFar = declarations;
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  expect(declarations).toBe(refusedSoFar);

  // Room made: the person sends it again, and it goes.
  await context.unroute('**/api/attachments');
  await failed.getByRole('button', { name: 'Try sending again' }).click();
  await expect(failed).toHaveCount(0);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByRole('region', { name: 'Photos' }).getByTestId('photo-failed')).toHaveCount(0);
  const api = await apiAs(writer);
  const refs = (await serverUpdate(api, title))?.fields.attachments ?? [];
  expect(refs).toHaveLength(1);
  expect((await api.get(`/api/attachments/${refs[0]!.hash}`)).status()).toBe(200);

  // Refused again for another photo: this time the person removes it from the device.
  await context.route('**/api/attachments', (route) =>
    route.request().method() === 'POST'
      ? route.fulfill({
          status: 415,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'unsupported_type', message: 'no' } }),
        })
      : route.continue(),
  );
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(second);
  await page.getByLabel('Add photos').setInputFiles(await uniquePhoto(page, 'door.jpg'));
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(second);
  await syncNow(page);
  await expect(failed).toContainText('1 photo could not be sent: the server does not accept this kind of file.');
  // A second one refused: each can be removed on its own, the other staying failed.
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(third);
  await page.getByLabel('Add photos').setInputFiles(await uniquePhoto(page, 'gate.jpg'));
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(third);
  await syncNow(page);
  await expect(failed).toContainText('2 photos could not be sent: the server does not accept this kind of file.');
  await expect(failed.getByTestId('failed-item')).toHaveCount(2);
  await failed.getByRole('button', { name: `Remove Photo in “${second}” from this device` }).click();
  await failed.getByRole('button', { name: 'Remove for good' }).click();
  await expect(failed).toContainText('1 photo could not be sent: the server does not accept this kind of file.');
  await expect(page.getByRole('region', { name: 'Photos' }).getByTestId('photo-failed')).toHaveCount(1);
  await failed.getByRole('button', { name: 'Remove from this device' }).click();
  await failed.getByRole('button', { name: 'Remove for good' }).click();
  await expect(failed).toHaveCount(0);
  // The updates no longer name them: no "still on its way" for a photo nobody will ever send.
  await expect(page.getByTestId('update-title')).toHaveText(third);
  await expect(page.getByTestId('photo-waiting')).toHaveCount(0);
  await expect(page.getByTestId('photo-failed')).toHaveCount(0);
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: second }).click();
  await expect(page.getByTestId('update-title')).toHaveText(second);
  await expect(page.getByTestId('photo-waiting')).toHaveCount(0);
  await expect(page.getByTestId('photo-failed')).toHaveCount(0);
  // The removal went as an ordinary edit: once synced, the server's record has no such attachment.
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect.poll(async () => (await serverUpdate(api, second))?.fields.attachments).toEqual([]);
  expect((await serverUpdate(api, third))?.fields.attachments).toEqual([]);
  expect((await serverUpdate(api, title))?.fields.attachments).toHaveLength(1);
  await api.dispose();
});
