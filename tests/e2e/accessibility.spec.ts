/**
 * Accessibility audit: every screen, as an admin and as a volunteer, on a
 * phone (412×915) and a desktop, with data, empty, offline, pending and with
 * a failing sync. axe-core checks the WCAG 2 A/AA rules; any violation of
 * impact serious or critical fails the test.
 *
 * Set SCREENS_DIR (e.g. /tmp/screens) to also save a full-page PNG of each
 * screen for a human look; set AXE_REPORT to a file to append every finding
 * there (all impacts, best-practice rules too) as JSON lines.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { APIRequestContext, Page } from '@playwright/test';
import { ADMIN, apiAs, createPerson, expect, goOffline, nav, signIn, syncNow, test, type Person } from './helpers';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const VIEWPORTS = [
  { name: 'phone', width: 412, height: 915 },
  { name: 'desktop', width: 1280, height: 900 },
] as const;
const SCREENS_DIR = process.env.SCREENS_DIR;
const AXE_REPORT = process.env.AXE_REPORT;

/** Runs axe on the page as it is now; serious and critical violations fail (softly, so one run lists them all). */
async function audit(page: Page, screen: string): Promise<void> {
  // Let transitions and the feed's second read settle.
  await page.waitForLoadState('load');
  await expect(page.locator('main h1').first()).toBeVisible();
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n` +
        v.nodes.map((n) => `      ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n'),
    );
  expect.soft(bad, `axe violations on "${screen}"`).toEqual([]);
  if (AXE_REPORT) {
    const all = await new AxeBuilder({ page }).withTags([...WCAG_TAGS, 'best-practice']).analyze();
    const width = page.viewportSize()?.width ?? 0;
    for (const v of all.violations)
      appendFileSync(
        AXE_REPORT,
        JSON.stringify({ screen, width, id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target) }) + '\n',
      );
  }
  if (SCREENS_DIR) {
    const width = page.viewportSize()?.width ?? 0;
    mkdirSync(SCREENS_DIR, { recursive: true });
    const file = `${width}-${screen.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
    await page.screenshot({ path: path.join(SCREENS_DIR, file), fullPage: true });
  }
}

let counter = 0;
function stamp(node: string): string {
  counter = (counter + 1) % 100_000;
  return `${String(Date.now()).padStart(15, '0')}:${String(counter).padStart(5, '0')}:${node}`;
}

function upsert(
  node: string,
  entityType: string,
  entityId: string,
  fields: Record<string, unknown>,
  base: Record<string, string | null>,
) {
  const s = stamp(node);
  return {
    changeId: randomUUID(),
    entityType,
    entityId,
    op: 'upsert',
    fields,
    stamps: Object.fromEntries(Object.keys(fields).map((k) => [k, s])),
    base,
    clientTime: new Date().toISOString(),
  };
}

/** Pushes changes; returns the ids of any conflicts they opened. */
async function push(api: APIRequestContext, clientId: string, changes: unknown[]): Promise<string[]> {
  const response = await api.post('/api/sync/push', { data: { clientId, changes } });
  expect(response.status(), await response.text()).toBe(200);
  const body = (await response.json()) as { results: Array<{ conflictIds?: string[] }> };
  return body.results.flatMap((r) => r.conflictIds ?? []);
}

interface Seed {
  updateTitle: string;
  conflictTitle: string;
  documentTitle: string;
  volunteer: Person;
  conflictIds: string[];
}

/** Data for the screens, written through the sync API: an update, a document and one open conflict. */
async function seed(): Promise<Seed> {
  const tag = Date.now().toString(36);
  const volunteer = await createPerson('volunteer', `Val${tag}`);
  const admin = await apiAs(ADMIN);
  const other = await apiAs(volunteer);
  const updateTitle = `Water needed at Elm school ${tag}`;
  const documentTitle = `Where to find drinking water ${tag}`;
  const original = `Shelter status ${tag}`;
  await push(admin, 'a11y-admin', [
    upsert(
      'a11yA',
      'update',
      randomUUID(),
      {
        kind: 'need',
        priority: 'high',
        status: 'open',
        title: updateTitle,
        body: 'Twenty people at the school hall have no drinking water since this morning. Bottled water or a filter would help.',
        location: { label: 'Elm school hall, 12 Elm Street' },
        tags: ['water', 'school'],
      },
      {},
    ),
    upsert(
      'a11yA',
      'document',
      randomUUID(),
      {
        title: documentTitle,
        body: '# Drinking water\n\nThe pump behind **Elm school** gives drinking water from 8am.\n\n- Boil it for one minute\n- Bring your own bottles\n\n## Who to call\n\nAsk at the community hall.',
        tags: ['water'],
      },
      {},
    ),
  ]);
  const shelterId = randomUUID();
  const created = upsert('a11yA', 'update', shelterId, { kind: 'status', title: original }, {});
  await push(admin, 'a11y-admin', [created]);
  const base = { title: created.stamps.title! };
  await push(admin, 'a11y-admin', [
    upsert('a11yA', 'update', shelterId, { title: `Shelter open until 9pm ${tag}` }, base),
  ]);
  const conflictIds = await push(other, 'a11y-other', [
    upsert('a11yB', 'update', shelterId, { title: `Shelter full tonight ${tag}` }, base),
  ]);
  expect(conflictIds).toHaveLength(1);
  await Promise.all([admin.dispose(), other.dispose()]);
  return { updateTitle, conflictTitle: `Shelter full tonight ${tag}`, documentTitle, volunteer, conflictIds };
}

let seeded: Promise<Seed> | undefined;
const data = () => (seeded ??= seed());

/** Waits until the feed has read every update (its count no longer says "loading"). */
async function feedSettled(page: Page): Promise<void> {
  await expect(page.getByTestId('feed-count')).not.toContainText('loading');
}

// The browser tests share one server: leave no open conflict behind for the other specs' counts.
test.afterAll(async () => {
  if (!seeded) return;
  const { conflictIds, conflictTitle } = await seeded;
  const admin = await apiAs(ADMIN);
  for (const id of conflictIds) {
    const response = await admin.post(`/api/conflicts/${id}/resolve`, { data: { value: conflictTitle } });
    expect(response.status(), await response.text()).toBe(200);
  }
  await admin.dispose();
});

for (const viewport of VIEWPORTS) {
  test.describe(`accessibility on a ${viewport.name}`, () => {
    test.use({ viewport: { width: viewport.width, height: viewport.height } });

    test('sign-in and first-run setup', async ({ page }) => {
      await page.goto('/login');
      await audit(page, 'sign-in');
      await page.getByLabel('Email').fill('nobody@e2e.test');
      await page.getByLabel('Password').fill('wrong-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toBeVisible();
      await audit(page, 'sign-in error');
      await page.goto('/setup');
      await audit(page, 'setup');
    });

    test('an admin with data: every screen', async ({ page, context }) => {
      const { updateTitle, conflictTitle, documentTitle } = await data();
      await signIn(page, ADMIN);
      await expect(page.getByRole('link', { name: updateTitle })).toBeVisible();
      await feedSettled(page);
      await audit(page, 'feed');

      await page.getByLabel('Search').fill('zzz-nothing-matches');
      await expect(page.getByRole('button', { name: 'Clear filters' })).toBeVisible();
      await audit(page, 'feed no match');
      await page.getByRole('button', { name: 'Clear filters' }).click();

      await page.getByRole('link', { name: updateTitle }).click();
      await expect(page.getByTestId('history-source')).toContainText('server');
      await audit(page, 'update detail');
      await page.getByRole('link', { name: 'Edit' }).click();
      await expect(page.getByRole('heading', { name: 'Edit update' })).toBeVisible();
      await audit(page, 'edit update');

      await nav(page, 'Updates').click();
      await page.getByRole('link', { name: conflictTitle }).click();
      await expect(page.locator('.notice')).toContainText('at the same time');
      await audit(page, 'update detail with conflict');

      await nav(page, 'Updates').click();
      await page.getByRole('link', { name: 'New update' }).click();
      await audit(page, 'new update');
      await page.getByRole('button', { name: 'Post update' }).click();
      await expect(page.locator('#title-error')).toBeVisible();
      await audit(page, 'new update with error');

      await nav(page, 'Documents').click();
      await audit(page, 'documents');
      await page.getByRole('link', { name: documentTitle }).click();
      await audit(page, 'document reader');
      await page.getByRole('link', { name: 'Edit document' }).click();
      await audit(page, 'document editor');
      await page.getByRole('button', { name: 'Preview' }).click();
      await audit(page, 'document editor preview');

      await nav(page, 'Conflicts').click();
      await expect(page.getByTestId('conflict-card')).toHaveCount(1);
      await audit(page, 'conflicts');

      await nav(page, 'Admin').click();
      await expect(page.getByRole('row').filter({ hasText: ADMIN.email })).toBeVisible();
      await expect(page.getByText('Loading hubs')).toHaveCount(0);
      await audit(page, 'admin');

      await nav(page, 'Sync').click();
      await expect(page.getByRole('table')).toBeVisible();
      await audit(page, 'sync');

      await nav(page, 'Assistant').click();
      await audit(page, 'assistant');
      await page.getByLabel('Your question').fill('Where is drinking water?');
      await page.getByRole('button', { name: 'Ask' }).click();
      await expect(page.getByTestId('assistant-provider')).toBeVisible();
      await expect(page.getByRole('button', { name: 'Ask' })).toBeVisible();
      await audit(page, 'assistant answer');

      await page.getByRole('link', { name: ADMIN.displayName }).click();
      await audit(page, 'account');

      // Offline with a change waiting: the status bar's hardest state to read.
      await nav(page, 'Updates').click();
      await goOffline(context, page);
      await page.getByRole('link', { name: 'New update' }).click();
      await page.getByLabel('Title').fill(`Generator running at the hall ${Date.now().toString(36)}`);
      await page.getByRole('button', { name: 'Post update' }).click();
      await expect(page.getByTestId('pending-count')).toContainText('1 change waiting');
      await audit(page, 'offline pending detail');
      await nav(page, 'Updates').click();
      await feedSettled(page);
      await audit(page, 'offline pending feed');
      await nav(page, 'Sync').click();
      await audit(page, 'offline sync');
      await nav(page, 'Assistant').click();
      await page.getByLabel('Your question').fill('drinking water');
      await page.getByRole('button', { name: 'Ask' }).click();
      await expect(page.getByTestId('offline-results')).toBeVisible();
      await audit(page, 'assistant offline');
      await context.setOffline(false);
      await syncNow(page);
      await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
    });

    test('an empty device whose sync fails', async ({ page }) => {
      // The server refuses every pull: nothing reaches this device, and the sync bar reports the error.
      await page.route('**/api/sync/pull', (route) =>
        route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({ code: 'unavailable', message: 'The server is busy. Try again in a minute.' }),
        }),
      );
      await signIn(page, ADMIN);
      await expect(page.getByTestId('sync-error')).toBeVisible();
      await expect(page.getByTestId('feed-empty')).toBeVisible();
      await audit(page, 'feed empty with sync error');
      await nav(page, 'Documents').click();
      await audit(page, 'documents empty');
      await nav(page, 'Conflicts').click();
      await expect(page.getByTestId('no-conflicts')).toBeVisible();
      await audit(page, 'conflicts empty');
      await nav(page, 'Sync').click();
      await audit(page, 'sync with error');
    });

    test('a volunteer: the screens that differ', async ({ page }) => {
      const { volunteer, documentTitle } = await data();
      await signIn(page, volunteer);
      await feedSettled(page);
      await audit(page, 'volunteer feed');
      await nav(page, 'Documents').click();
      await expect(page.getByRole('link', { name: documentTitle })).toBeVisible();
      await audit(page, 'volunteer documents');
      await page.getByRole('link', { name: documentTitle }).click();
      await audit(page, 'volunteer document reader');
      await page.goto('/conflicts');
      await audit(page, 'volunteer conflicts');
      await page.goto('/admin');
      await audit(page, 'volunteer admin');
      await page.goto('/documents/new');
      await audit(page, 'volunteer new document');
      await nav(page, 'Sync').click();
      await audit(page, 'volunteer sync');
      await page.getByRole('link', { name: volunteer.displayName }).click();
      await audit(page, 'volunteer account');
    });
  });
}
