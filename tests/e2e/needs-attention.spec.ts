import { nav, createPerson, createUpdate, expect, goOffline, serverTitles, signIn, syncNow, test } from './helpers';

test('a change the server rejects goes to needs-attention while the others sync', async ({ page, context }) => {
  const person = await createPerson('volunteer', 'Nia');
  const tag = Date.now().toString(36);
  const good = [`Food parcels ${tag}`, `Clinic open ${tag}`];

  await signIn(page, person);
  await goOffline(context, page);
  await createUpdate(page, good[0]!);

  // A volunteer may not write documents: this outbox entry is valid in form but refused by the server.
  await page.evaluate(async () => {
    const stamp = `${String(Date.now()).padStart(15, '0')}:00000:e2e`;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('lifeline');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('outbox', 'readwrite');
      tx.objectStore('outbox').add({
        userId: null,
        change: {
          changeId: crypto.randomUUID(),
          entityType: 'document',
          entityId: crypto.randomUUID(),
          op: 'upsert',
          fields: { title: 'Evacuation plan (volunteer draft)' },
          stamps: { title: stamp },
          base: { title: null },
          clientTime: new Date().toISOString(),
        },
      });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  });
  await createUpdate(page, good[1]!);
  await expect(page.getByTestId('pending-count')).toHaveText(/3 changes waiting to send/);

  await context.setOffline(false);
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByRole('link', { name: '1 change need attention' })).toBeVisible();

  await nav(page, 'Sync').click();
  const item = page.getByTestId('attention-item');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('Evacuation plan (volunteer draft)');
  await expect(item).toContainText('forbidden');

  expect(await serverTitles()).toEqual(expect.arrayContaining(good));
});
