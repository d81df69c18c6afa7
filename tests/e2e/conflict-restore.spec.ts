import { ADMIN, apiAs, createPerson, createUpdate, expect, goOffline, nav, signIn, syncNow, test } from './helpers';

test('delete against a concurrent edit: a coordinator restores the update, with the edit, on the server and everywhere', async ({
  browser,
}) => {
  const alice = await createPerson('volunteer', 'Dora');
  const bob = await createPerson('volunteer', 'Eddie');
  const carol = await createPerson('coordinator', 'Fay');
  const tag = Date.now().toString(36);
  const original = `Pharmacy open ${tag}`;
  const edited = `Pharmacy open until noon ${tag}`;

  const aliceContext = await browser.newContext();
  const alicePage = await aliceContext.newPage();
  await signIn(alicePage, alice);
  await createUpdate(alicePage, original);
  const entityId = new URL(alicePage.url()).pathname.split('/').pop()!;
  await syncNow(alicePage);
  await expect(alicePage.getByTestId('pending-count')).toHaveText('All changes sent');

  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  await signIn(bobPage, bob);
  await expect(bobPage.getByRole('link', { name: original })).toBeVisible();

  // Offline, Alice deletes it while Bob edits it.
  await goOffline(aliceContext, alicePage);
  await goOffline(bobContext, bobPage);
  alicePage.once('dialog', (dialog) => void dialog.accept());
  await alicePage.getByRole('button', { name: 'Delete' }).click();
  await expect(alicePage.getByRole('heading', { name: 'Updates' })).toBeVisible();
  await bobPage.getByRole('link', { name: original }).click();
  await bobPage.getByRole('link', { name: 'Edit' }).click();
  await bobPage.getByLabel('Title').fill(edited);
  await bobPage.getByRole('button', { name: 'Save changes' }).click();
  await expect(bobPage.getByTestId('update-title')).toHaveText(edited);

  for (const [context, page] of [
    [aliceContext, alicePage],
    [bobContext, bobPage],
  ] as const) {
    await context.setOffline(false);
    await syncNow(page);
    await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  }

  const admin = await apiAs(ADMIN);
  const before = (await (await admin.get(`/api/records/update/${entityId}`)).json()) as {
    record: { deletedAt: string | null; fields: { title: string } };
  };
  expect(before.record.deletedAt).not.toBeNull();

  const carolContext = await browser.newContext();
  const carolPage = await carolContext.newPage();
  await signIn(carolPage, carol);
  await nav(carolPage, 'Conflicts').click();
  const card = carolPage.getByTestId('conflict-card').filter({ hasText: 'Deleted while someone edited' });
  await expect(card).toHaveCount(1);
  await expect(card).toContainText('By Dora');
  await expect(card).toContainText('By Eddie');
  await expect(card.getByRole('button', { name: 'Keep it deleted' })).toBeVisible();
  await card.getByRole('button', { name: 'Restore it' }).click();
  await expect(carolPage.getByRole('status')).toContainText('Resolved');

  // The server has it back, with Bob's edit, and the conflict is resolved.
  const after = (await (await admin.get(`/api/records/update/${entityId}`)).json()) as typeof before;
  expect(after.record.deletedAt).toBeNull();
  expect(after.record.fields.title).toBe(edited);
  const conflicts = (await (await admin.get('/api/conflicts?status=all')).json()) as {
    conflicts: Array<{ entityId: string; field: string; status: string }>;
  };
  const mine = conflicts.conflicts.filter((c) => c.entityId === entityId);
  expect(mine).toEqual([expect.objectContaining({ field: 'deletedAt', status: 'resolved' })]);

  // The one who deleted it sees it again after a sync.
  await syncNow(alicePage);
  await nav(alicePage, 'Updates').click();
  await expect(alicePage.getByRole('link', { name: edited })).toBeVisible();

  await admin.dispose();
  await Promise.all([aliceContext.close(), bobContext.close(), carolContext.close()]);
});
