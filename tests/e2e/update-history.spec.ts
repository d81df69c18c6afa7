import { createPerson, createUpdate, editTitle, expect, goOffline, nav, signIn, syncNow, test } from './helpers';

test('update history comes from the server online (who changed what) and from the device offline', async ({
  browser,
  page,
  context,
}) => {
  const alice = await createPerson('volunteer', 'Hana');
  const bob = await createPerson('volunteer', 'Hugo');
  const tag = Date.now().toString(36);
  const original = `Blankets needed ${tag}`;
  const renamed = `Blankets needed at the school ${tag}`;

  await signIn(page, alice);
  await createUpdate(page, original, { body: 'For twenty people' });
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  await signIn(bobPage, bob);
  await editTitle(bobPage, original, renamed);
  await syncNow(bobPage);
  await expect(bobPage.getByTestId('pending-count')).toHaveText('All changes sent');
  await bobContext.close();

  await syncNow(page);
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: renamed }).click();
  const history = page.getByRole('region', { name: 'History' });
  await expect(history.getByTestId('history-source')).toHaveText(/Every change the server has received/);
  const items = history.getByRole('listitem');
  await expect(items).toHaveCount(2);
  // Newest first; the device alone cannot say who changed the title.
  await expect(items.nth(0)).toContainText('Changed title by Hugo');
  await expect(items.nth(0)).toContainText(`title: ${renamed}`);
  await expect(items.nth(1)).toContainText('Created by Hana');

  await goOffline(context, page);
  await page.reload();
  await expect(page.getByTestId('update-title')).toHaveText(renamed);
  await expect(history.getByTestId('history-source')).toHaveText(/From this device only/);
  await expect(history).toContainText('Changed title');
  await expect(history).not.toContainText('by Hugo');
  await context.setOffline(false);
});
