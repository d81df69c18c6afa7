import { nav, createPerson, createUpdate, expect, goOffline, signIn, syncNow, test } from './helpers';

test('two people edit one title offline, a coordinator chooses in the inbox, and both converge on it', async ({
  browser,
}) => {
  const alice = await createPerson('volunteer', 'Alice');
  const bob = await createPerson('volunteer', 'Bob');
  const carol = await createPerson('coordinator', 'Carol');
  const tag = Date.now().toString(36);
  const original = `Shelter status ${tag}`;
  const aliceTitle = `Shelter open until 9pm ${tag}`;
  const bobTitle = `Shelter full tonight ${tag}`;

  const aliceContext = await browser.newContext();
  const alicePage = await aliceContext.newPage();
  await signIn(alicePage, alice);
  await createUpdate(alicePage, original);
  await syncNow(alicePage);
  await expect(alicePage.getByTestId('pending-count')).toHaveText('All changes sent');

  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  await signIn(bobPage, bob);
  await expect(bobPage.getByRole('link', { name: original })).toBeVisible();

  // Both edit while offline, neither seeing the other's change.
  await goOffline(aliceContext, alicePage);
  await goOffline(bobContext, bobPage);
  for (const [page, title] of [
    [alicePage, aliceTitle],
    [bobPage, bobTitle],
  ] as const) {
    await nav(page, 'Updates').click();
    await page.getByRole('link', { name: original }).click();
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('Title').fill(title);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByTestId('update-title')).toHaveText(title);
  }

  await aliceContext.setOffline(false);
  await syncNow(alicePage);
  await expect(alicePage.getByTestId('pending-count')).toHaveText('All changes sent');
  await bobContext.setOffline(false);
  await syncNow(bobPage);
  await expect(bobPage.getByTestId('pending-count')).toHaveText('All changes sent');

  // The coordinator sees both values side by side, with who wrote them.
  const carolContext = await browser.newContext();
  const carolPage = await carolContext.newPage();
  await signIn(carolPage, carol);
  await expect(carolPage.getByTestId('conflict-count')).toHaveText('1 open conflict');
  await nav(carolPage, 'Conflicts').click();
  const card = carolPage.getByTestId('conflict-card');
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('conflict-value')).toHaveCount(2);
  await expect(card).toContainText(aliceTitle);
  await expect(card).toContainText(bobTitle);
  await expect(card).toContainText('By Alice');
  await expect(card).toContainText('By Bob');

  // Choose Alice's value (whichever side won by stamp, the choice must win everywhere).
  const aliceSide = card.getByRole('region').filter({ hasText: aliceTitle });
  await aliceSide.getByRole('button', { name: 'Choose this' }).click();
  await expect(carolPage.getByTestId('no-conflicts')).toBeVisible();

  for (const page of [alicePage, bobPage]) {
    await syncNow(page);
    await nav(page, 'Updates').click();
    await expect(page.getByRole('link', { name: aliceTitle })).toBeVisible();
    await expect(page.getByRole('link', { name: bobTitle })).toHaveCount(0);
  }
  await Promise.all([aliceContext.close(), bobContext.close(), carolContext.close()]);
});
