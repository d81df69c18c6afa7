import {
  nav,
  createPerson,
  createUpdate,
  expect,
  expireSessions,
  goOffline,
  serverTitles,
  signIn,
  syncNow,
  test,
} from './helpers';

test('the session expires while offline edits wait: signing in again sends them, nothing is lost', async ({
  page,
  context,
}) => {
  const person = await createPerson('volunteer', 'Sam');
  const tag = Date.now().toString(36);
  const titles = [`Medicine run ${tag}`, `Blankets at school ${tag}`];

  await signIn(page, person);
  await goOffline(context, page);
  for (const title of titles) await createUpdate(page, title);
  await expect(page.getByTestId('pending-count')).toHaveText(/2 changes waiting to send/);

  expect(await expireSessions(person.email)).toBeGreaterThan(0);

  await context.setOffline(false);
  await syncNow(page);
  await expect(page.getByTestId('auth-required')).toBeVisible();
  await expect(page.getByTestId('pending-count')).toHaveText(/2 changes waiting to send/);
  // Still usable while signed out of the server: the local data is all there.
  await nav(page, 'Updates').click();
  await expect(page.getByTestId('pending-badge')).toHaveCount(2);

  await page.getByRole('link', { name: 'Sign in again' }).click();
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByTestId('auth-required')).toHaveCount(0);

  expect(await serverTitles()).toEqual(expect.arrayContaining(titles));
});
