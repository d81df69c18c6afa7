import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { apiAs, createPerson, expect, expectAccessible, goOffline, nav, signIn, syncNow, test } from './helpers';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const PHOTO = path.join(FIXTURES, 'photo-1.jpg');
// A minimal hand-written PDF (one page, one line of text).
const PDF = path.join(FIXTURES, 'rota.pdf');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Press a file's download button and return the name and bytes the browser saved. */
async function download(page: Page, name: string): Promise<{ name: string; bytes: Buffer }> {
  const started = page.waitForEvent('download', { timeout: 15_000 });
  await page.getByRole('button', { name: `Download ${name}` }).click();
  const done = await started;
  return { name: done.suggestedFilename(), bytes: await readFile((await done.path())!) };
}

test('offline: a photo and a PDF attached to a new document survive a reload, upload on sync, and another member downloads the PDF', async ({
  browser,
  page,
  context,
}) => {
  const writer = await createPerson('coordinator', 'Cora');
  const reader = await createPerson('volunteer', 'Vik');
  const title = `Shelter rota ${Date.now().toString(36)}`;
  const pdfBytes = await readFile(PDF);

  await signIn(page, writer);
  await goOffline(context, page);

  await nav(page, 'Documents').click();
  await page.getByRole('link', { name: 'New document' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Text').fill('# Who is where\n\nSee the attached rota.');
  await page.getByLabel('Add photos').setInputFiles(PHOTO);
  await expect(page.getByTestId('form-photos').getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(page.locator('#photos-hint')).toContainText('They are sent after the document.');

  const filePicker = page.getByLabel('Add files (PDF)');
  // Not a PDF (whatever the picker lets through): refused in words, nothing added.
  await filePicker.setInputFiles(PHOTO);
  await expect(page.getByText('photo-1.jpg: This file is not a PDF.')).toBeVisible();
  await expect(page.getByTestId('form-files')).toHaveCount(0);
  await filePicker.setInputFiles(PDF);
  await expect(page.getByTestId('form-files')).toContainText('rota.pdf');
  await expectAccessible(page, 'new document with a photo and a file');
  await page.getByRole('button', { name: 'Save document' }).click();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();

  const gallery = page.getByRole('region', { name: 'Photos' });
  const files = page.getByRole('region', { name: 'Files' });
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(files.getByTestId('document-file')).toHaveCount(1);

  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect
    .poll(() => gallery.getByTestId('photo-thumbnail').evaluate((el: HTMLImageElement) => el.naturalWidth))
    .toBeGreaterThan(0);
  await expect(files.getByTestId('document-file')).toContainText(/rota\.pdf\s*PDF, \d+ B/);
  await expect(page.getByTestId('pending-count')).toHaveText(
    /1 change waiting to send .*and 1 photo and 1 file \(\d+ KB\)/,
  );
  // Still offline: the file is on this device, so it downloads from there, byte for byte.
  const offlineCopy = await download(page, 'rota.pdf');
  expect(offlineCopy.name).toBe('rota.pdf');
  expect(sha256(offlineCopy.bytes)).toBe(sha256(pdfBytes));
  await expectAccessible(page, 'document with a photo and a file, pending');

  await context.setOffline(false);
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  // On the server: the PDF as it was, served as a PDF download.
  const api = await apiAs(writer);
  const pull = await api.post('/api/sync/pull', { data: { clientId: 'e2e-doc-files', cursor: null, limit: 5000 } });
  const records = ((await pull.json()) as { records: Array<{ entityType: string; fields: Record<string, unknown> }> })
    .records;
  const record = records.find((r) => r.entityType === 'document' && r.fields.title === title);
  const refs = record?.fields.attachments as Array<{
    hash: string;
    type: string;
    name?: string;
    thumbnailHash?: string;
  }>;
  expect(refs.map((ref) => ref.type)).toEqual(['image/jpeg', 'application/pdf']);
  const pdfRef = refs[1]!;
  expect(pdfRef).toMatchObject({ hash: sha256(pdfBytes), name: 'rota.pdf' });
  expect(pdfRef.thumbnailHash).toBeUndefined();
  const served = await api.get(`/api/attachments/${pdfRef.hash}`);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toBe('application/pdf');
  expect(served.headers()['content-disposition']).toContain('attachment');
  expect(sha256(await served.body())).toBe(sha256(pdfBytes));
  await api.dispose();

  const second = await browser.newContext();
  const other = await second.newPage();
  await signIn(other, reader);
  await nav(other, 'Documents').click();
  await other.getByRole('link', { name: title }).click();
  const theirGallery = other.getByRole('region', { name: 'Photos' });
  await expect(theirGallery.getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(theirGallery.getByTestId('photo-waiting')).toHaveCount(0);
  // Fetched from the server on demand, and handed over under its name.
  const theirCopy = await download(other, 'rota.pdf');
  expect(theirCopy.name).toBe('rota.pdf');
  expect(sha256(theirCopy.bytes)).toBe(sha256(pdfBytes));
  await expectAccessible(other, 'document with a file, downloaded');

  // Kept for offline use once fetched: offline, it still downloads.
  await goOffline(second, other);
  expect(sha256((await download(other, 'rota.pdf')).bytes)).toBe(sha256(pdfBytes));
  await expect(other.getByTestId('file-note')).toHaveCount(0);
  await second.close();

  // Editing shows what the document holds; a file removed there leaves the document, the photo stays.
  await page.getByRole('link', { name: 'Edit document' }).click();
  await expect(page.getByTestId('form-photos').getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(page.getByTestId('form-files')).toContainText('rota.pdf');
  await page.getByRole('button', { name: 'Remove rota.pdf' }).click();
  await page.getByRole('button', { name: 'Save document' }).click();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await expect(gallery.getByTestId('photo-thumbnail')).toHaveCount(1);
  await expect(files).toHaveCount(0);
});

test('a file not on the server yet is "on its way", offline and not kept it is "not kept offline", and it downloads once sent', async ({
  browser,
  page,
  context,
}) => {
  const writer = await createPerson('coordinator', 'Noor');
  const reader = await createPerson('volunteer', 'Emil');
  const title = `Generator manual ${Date.now().toString(36)}`;
  // A PDF no earlier test sent (attachments are stored once per community, by content).
  const pdf = Buffer.from(`%PDF-1.4\n% ${title}\n%%EOF\n`, 'latin1');

  await signIn(page, writer);
  // The file endpoints are unreachable; the rest of the API works.
  await context.route('**/api/attachments**', (route) => route.abort('connectionfailed'));
  await nav(page, 'Documents').click();
  await page.getByRole('link', { name: 'New document' }).click();
  await page.getByLabel('Title').fill(title);
  await page
    .getByLabel('Add files (PDF)')
    .setInputFiles({ name: 'manual.pdf', mimeType: 'application/pdf', buffer: pdf });
  await expect(page.getByTestId('form-files')).toContainText('manual.pdf');
  await page.getByRole('button', { name: 'Save document' }).click();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText(/^1 file \(\d+ B\) waiting to send$/);
  await expect(page.getByTestId('photo-error')).toContainText('Files not sent yet');

  const second = await browser.newContext();
  const other = await second.newPage();
  await signIn(other, reader);
  await nav(other, 'Documents').click();
  await other.getByRole('link', { name: title }).click();
  await other.getByRole('button', { name: 'Download manual.pdf' }).click();
  await expect(other.getByTestId('file-note')).toHaveText('File still on its way: it has not reached the server yet.');

  await goOffline(second, other);
  await other.getByRole('button', { name: 'Download manual.pdf' }).click();
  await expect(other.getByTestId('file-note')).toHaveText(
    'File not kept offline: it can be downloaded when you are online.',
  );
  await expectAccessible(other, 'document with a file not kept offline');

  await context.unroute('**/api/attachments**');
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  await second.setOffline(false);
  await expect(other.getByTestId('online-state')).toHaveText('Online');
  const copy = await download(other, 'manual.pdf');
  expect(copy.name).toBe('manual.pdf');
  expect(sha256(copy.bytes)).toBe(sha256(pdf));
  await expect(other.getByTestId('file-note')).toHaveCount(0);
  await second.close();
});
