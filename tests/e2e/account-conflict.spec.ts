import { randomUUID } from 'node:crypto';
import { formatStamp } from '@lifeline/core';
import { hashPassword } from '../../backend/src/domain/secrets';
import { ADMIN, apiAs, baseUrl, createPerson, expect, nav, signIn, syncNow, test } from './helpers';

/**
 * A hub made an account during an outage with an email someone already has at
 * the cloud. Both accounts are kept; the admin sees the problem in People and
 * in Conflicts, gives the hub's account another email, and both can sign in.
 */
test('an admin settles two accounts made with one email on both sides of an outage', async ({ page, request }) => {
  const existing = await createPerson('volunteer', 'Sam');
  const admin = await apiAs(ADMIN);
  const device = (await (await admin.post('/api/devices', { data: { name: 'Outage hub', kind: 'hub' } })).json()) as {
    apiKey: string;
  };

  // What the hub forwards once the link is back: the account its admin made meanwhile.
  const hubAccountId = randomUUID();
  const stamp = formatStamp({ ms: Date.now(), counter: 0, nodeId: 'hubnode' });
  const fields = {
    email: existing.email,
    displayName: 'Sam (hub)',
    role: 'volunteer',
    disabled: false,
    passwordHash: await hashPassword('sam-at-the-hub-1'),
  };
  const pushed = await request.post(`${baseUrl()}/api/sync/push`, {
    headers: { authorization: `Bearer ${device.apiKey}` },
    data: {
      clientId: 'hub:outage',
      changes: [
        {
          changeId: randomUUID(),
          entityType: 'user',
          entityId: hubAccountId,
          op: 'upsert',
          fields,
          stamps: Object.fromEntries(Object.keys(fields).map((field) => [field, stamp])),
          base: Object.fromEntries(Object.keys(fields).map((field) => [field, null])),
          clientTime: new Date().toISOString(),
        },
      ],
    },
  });
  expect(pushed.status()).toBe(200);
  expect(((await pushed.json()) as { results: Array<{ status: string }> }).results[0]!.status).toBe('applied');

  await signIn(page, ADMIN);
  await syncNow(page);
  await nav(page, 'Admin').click();
  const held = page.getByRole('row').filter({ hasText: 'Sam (hub)' });
  await expect(held.getByTestId('duplicate-email')).toContainText('Another account uses this email');

  await nav(page, 'Conflicts').click();
  const card = page.getByTestId('conflict-card').filter({ hasText: `Two accounts use the email ${existing.email}` });
  await expect(card).toBeVisible();
  const newEmail = `sam.hub-${Date.now()}@e2e.test`;
  await card.getByLabel('New email for Sam (hub)').fill(newEmail);
  await card.getByRole('button', { name: 'Give this account the new email' }).click();
  await expect(page.getByRole('status')).toContainText('Resolved');

  // Both people sign in, each with their own email and password.
  for (const person of [existing, { email: newEmail, password: 'sam-at-the-hub-1' }]) {
    const api = await apiAs(person);
    await api.dispose();
  }
  await nav(page, 'Admin').click();
  await expect(page.getByTestId('duplicate-email')).toHaveCount(0);
  await admin.dispose();
});
