import {
  nav,
  createPerson,
  createUpdate,
  editTitle,
  expect,
  goOffline,
  serverTitles,
  signIn,
  syncNow,
  test,
} from './helpers';

test('offline: reload works, creates and edits stay pending across reloads, then sync and a second browser sees them', async ({
  browser,
  page,
  context,
}) => {
  const writer = await createPerson('volunteer', 'Wren');
  const reader = await createPerson('volunteer', 'Rook');
  const tag = Date.now().toString(36);
  const titles = [`Water needed ${tag}`, `Generator offered ${tag}`, `Road blocked ${tag}`];

  await signIn(page, writer);
  await goOffline(context, page);

  await page.reload();
  await expect(page.getByRole('heading', { name: 'Updates' })).toBeVisible();
  await expect(page.getByTestId('online-state')).toHaveText('Offline');

  for (const title of titles) await createUpdate(page, title, { place: 'Elm Street hall' });
  const edited = `Road blocked at the bridge ${tag}`;
  await editTitle(page, titles[2]!, edited);

  await page.reload();
  await nav(page, 'Updates').click();
  // Other tests share the server: look only at this test's updates.
  const cards = page.getByTestId('update-card').filter({ hasText: tag });
  await expect(cards).toHaveCount(3);
  await expect(cards.getByTestId('pending-badge')).toHaveCount(3);
  await expect(page.getByRole('link', { name: edited })).toBeVisible();
  await expect(page.getByRole('link', { name: titles[2]!, exact: true })).toHaveCount(0);
  await expect(page.getByTestId('pending-count')).toHaveText(/4 changes waiting to send/);

  await context.setOffline(false);
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(cards.getByTestId('pending-badge')).toHaveCount(0);

  const onServer = await serverTitles();
  expect(onServer).toEqual(expect.arrayContaining([titles[0], titles[1], edited]));
  expect(onServer).not.toContain(titles[2]);

  const second = await browser.newContext();
  const otherPage = await second.newPage();
  await signIn(otherPage, reader);
  for (const title of [titles[0]!, titles[1]!, edited]) {
    await expect(otherPage.getByRole('link', { name: title })).toBeVisible();
  }
  await second.close();
});
