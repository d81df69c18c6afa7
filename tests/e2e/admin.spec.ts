import { ADMIN, apiAs, baseUrl, createPerson, expect, nav, signIn, test } from './helpers';

test('an admin changes a role and suspends someone, who is signed out everywhere', async ({ browser, page }) => {
  const tag = Date.now().toString(36);
  const name = `Vic${tag}`;
  const vic = await createPerson('volunteer', name);

  // Vic is signed in, in a browser and through the API.
  const vicContext = await browser.newContext();
  const vicPage = await vicContext.newPage();
  await signIn(vicPage, vic);
  const vicApi = await apiAs(vic);
  expect((await vicApi.get('/api/auth/me')).status()).toBe(200);

  await signIn(page, ADMIN);
  await nav(page, 'Admin').click();
  const row = page.getByRole('row').filter({ hasText: vic.email });
  await expect(row).toContainText('Active');

  await page.getByLabel(`Role of ${name}`).selectOption('coordinator');
  await expect(page.getByRole('status')).toHaveText(`${name} is now coordinator.`);
  const admin = await apiAs(ADMIN);
  const listed = (await (await admin.get('/api/users')).json()) as {
    users: Array<{ email: string; role: string; disabled?: boolean }>;
  };
  expect(listed.users.find((u) => u.email === vic.email)?.role).toBe('coordinator');
  // The new role applies to Vic's existing session at once.
  expect(((await (await vicApi.get('/api/auth/me')).json()) as { user: { role: string } }).user.role).toBe(
    'coordinator',
  );

  await row.getByRole('button', { name: 'Suspend' }).click();
  await expect(page.getByRole('status')).toHaveText(`${name} is suspended.`);
  await expect(row).toContainText('Suspended');
  await expect(row.getByRole('button', { name: 'Reinstate' })).toBeVisible();

  // Every session of Vic's is over, and Vic cannot sign in again.
  expect((await vicApi.get('/api/auth/me')).status()).toBe(401);
  const relogin = await admin.fetch('/api/auth/login', {
    method: 'POST',
    data: { email: vic.email, password: vic.password },
    headers: { origin: baseUrl() },
  });
  expect(relogin.status()).toBe(401);
  // Vic's browser learns it at its next sync and asks to sign in again; nothing local is dropped.
  await vicPage.getByTestId('sync-now').click();
  await expect(vicPage.getByTestId('auth-required')).toBeVisible();

  await Promise.all([vicApi.dispose(), admin.dispose(), vicContext.close()]);
});

test('an admin registers a hub, sees its key once, suspends it and removes it', async ({ page, request }) => {
  const hubName = `Hall hub ${Date.now().toString(36)}`;
  const withKey = (key: string) =>
    request.get(`${baseUrl()}/api/sync/status`, { headers: { authorization: `Bearer ${key}` } });

  await signIn(page, ADMIN);
  await nav(page, 'Admin').click();
  await page.getByLabel('Register a hub').fill(hubName);
  await page.getByRole('button', { name: 'Register' }).click();
  const key = await page.getByTestId('hub-key').textContent();
  expect(key?.length).toBeGreaterThan(30);
  await expect(page.getByRole('alert')).toContainText(`Key for ${hubName}`);
  expect((await withKey(key!)).status()).toBe(200);

  // Shown once: dismissed, or after a reload, it is nowhere on the page.
  await page.getByRole('button', { name: 'I have saved it' }).click();
  await expect(page.getByTestId('hub-key')).toHaveCount(0);
  await page.reload();
  const row = page.getByRole('row').filter({ hasText: hubName });
  await expect(row).toContainText('active');
  await expect(page.getByTestId('hub-key')).toHaveCount(0);
  expect(await page.content()).not.toContain(key!);

  await row.getByRole('button', { name: 'Suspend' }).click();
  await expect(row).toContainText('suspended');
  expect((await withKey(key!)).status()).toBe(403);

  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(row).toContainText('active');
  expect((await withKey(key!)).status()).toBe(200);

  page.once('dialog', (dialog) => void dialog.accept());
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByRole('row').filter({ hasText: hubName })).toHaveCount(0);
  expect([401, 403]).toContain((await withKey(key!)).status());
});
