/** Shared steps for the browser tests: people, signing in, syncing, going offline. */
import {
  test as base,
  expect,
  request,
  type APIRequestContext,
  type BrowserContext,
  type Page,
} from '@playwright/test';
import { AxeBuilder } from '@axe-core/playwright';
import pg from 'pg';

export const ADMIN = { email: 'admin@e2e.test', password: 'admin-password-1', displayName: 'Ada Admin' };

export interface Person {
  email: string;
  password: string;
  displayName: string;
  role: 'volunteer' | 'coordinator' | 'admin';
}

/** `baseURL` comes from the backend the global setup started. */
export const test = base.extend({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this destructuring
  baseURL: async ({}, use) => {
    const url = process.env.LIFELINE_BASE_URL;
    if (!url) throw new Error('LIFELINE_BASE_URL not set: run through playwright.config.ts');
    await use(url);
  },
});
export { expect };

export function baseUrl(): string {
  return process.env.LIFELINE_BASE_URL!;
}

/** An API client signed in as someone, sending Origin like the browser would. */
export async function apiAs(person: { email: string; password: string }): Promise<APIRequestContext> {
  const api = await request.newContext({ baseURL: baseUrl(), extraHTTPHeaders: { origin: baseUrl() } });
  const response = await api.post('/api/auth/login', { data: { email: person.email, password: person.password } });
  expect(response.status(), await response.text()).toBe(200);
  return api;
}

let counter = 0;
export async function createPerson(role: Person['role'], name: string): Promise<Person> {
  counter += 1;
  const person: Person = {
    email: `${name.toLowerCase()}-${Date.now()}-${counter}@e2e.test`,
    password: `pw-${name}-secret-1`,
    displayName: name,
    role,
  };
  const admin = await apiAs(ADMIN);
  const response = await admin.post('/api/users', { data: person });
  expect(response.status(), await response.text()).toBe(201);
  await admin.dispose();
  return person;
}

export async function signIn(page: Page, person: { email: string; password: string }): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Updates' })).toBeVisible();
}

/** Going offline is only safe once the worker that serves the shell is in charge. */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, {
    timeout: 30_000,
  });
}

export async function goOffline(context: BrowserContext, page: Page): Promise<void> {
  await waitForServiceWorker(page);
  await context.setOffline(true);
  await expect(page.getByTestId('online-state')).toHaveText('Offline');
}

/** Press "Sync now" and wait until the run is over (the button reads "Sync now" again). */
export async function syncNow(page: Page): Promise<void> {
  const button = page.getByTestId('sync-now');
  await expect(button).toBeEnabled();
  await button.click();
  await expect(button).toHaveText('Sync now');
  await expect(button).toBeEnabled();
}

export async function createUpdate(
  page: Page,
  title: string,
  extra: { body?: string; place?: string } = {},
): Promise<void> {
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: 'New update' }).click();
  await page.getByLabel('Title').fill(title);
  if (extra.body) await page.getByLabel('Details').fill(extra.body);
  if (extra.place) await page.getByLabel('Place').fill(extra.place);
  await page.getByRole('button', { name: 'Post update' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(title);
}

export async function editTitle(page: Page, from: string, to: string): Promise<void> {
  await nav(page, 'Updates').click();
  await page.getByRole('link', { name: from }).click();
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('Title').fill(to);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByTestId('update-title')).toHaveText(to);
}

/** Titles of every live update the server holds, read through the sync API as the admin. */
export async function serverTitles(): Promise<string[]> {
  const admin = await apiAs(ADMIN);
  const titles: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const response = await admin.post('/api/sync/pull', { data: { clientId: 'e2e-check', cursor, limit: 5000 } });
    const page = (await response.json()) as {
      records: Array<{ entityType: string; fields: { title?: string }; deletedAt: string | null }>;
      cursor: string;
      hasMore: boolean;
    };
    for (const r of page.records) if (r.entityType === 'update' && !r.deletedAt) titles.push(String(r.fields.title));
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  await admin.dispose();
  return titles;
}

/** Ends every session of one person on the server, as an expiry would. */
export async function expireSessions(email: string): Promise<number> {
  const client = new pg.Client({ connectionString: process.env.LIFELINE_DATABASE_URL });
  await client.connect();
  try {
    const result = await client.query('DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE email = $1)', [
      email,
    ]);
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** A link in the main navigation (pages have other links with similar names). */
export function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** No serious or critical WCAG 2 A/AA finding on the screen as it is now (as accessibility.spec.ts checks). */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  expect(bad, `axe violations on "${screen}"`).toEqual([]);
}
