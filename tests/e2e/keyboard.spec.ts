/**
 * Keyboard only: sign in, post an update, open it and sync with nothing but
 * Tab, Shift+Tab, Enter, Space and typing. At every step the focused element
 * must show a focus ring and not be hidden (under the sticky sync bar or off
 * screen), and after each navigation focus must land on the new screen's
 * main heading.
 */
import type { Page } from '@playwright/test';
import { createPerson, expect, test } from './helpers';

interface Focused {
  tag: string;
  name: string;
  visibleRing: boolean;
  unobscured: boolean;
}

/** What has focus, its accessible-ish name, and whether a person could see where it is. */
function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { tag: 'BODY', name: '', visibleRing: false, unobscured: false };
    const labelled = (el as HTMLInputElement).labels?.[0]?.textContent;
    const name = (el.getAttribute('aria-label') ?? labelled ?? el.textContent ?? '').replace(/\s+/g, ' ').trim();
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow !== 'none' && style.boxShadow !== '';
    const rect = el.getBoundingClientRect();
    const x = Math.min(Math.max(rect.left + Math.min(rect.width / 2, 20), 0), innerWidth - 1);
    const y = Math.min(Math.max(rect.top + Math.min(rect.height / 2, 12), 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    const inView = rect.bottom > 0 && rect.top < innerHeight && rect.right > 0 && rect.left < innerWidth;
    return {
      tag: el.tagName,
      name,
      visibleRing: el.matches(':focus-visible') && (outline || shadow),
      unobscured: inView && hit !== null && (hit === el || el.contains(hit)),
    };
  });
}

async function expectVisibleFocus(page: Page): Promise<Focused> {
  const f = await focused(page);
  expect(f.visibleRing, `no visible focus ring on <${f.tag}> "${f.name}"`).toBe(true);
  expect(f.unobscured, `focused <${f.tag}> "${f.name}" is covered or off screen`).toBe(true);
  return f;
}

/** Presses Tab (or Shift+Tab) until the focused element's name matches, checking focus at every stop. */
async function tabTo(page: Page, name: string | RegExp, backwards = false): Promise<void> {
  const matches = (text: string) => (typeof name === 'string' ? text === name : name.test(text));
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
    const f = await expectVisibleFocus(page);
    if (matches(f.name)) return;
  }
  throw new Error(`Tab never reached "${String(name)}"`);
}

/** After a navigation, focus is on the new screen's main heading. */
async function expectHeadingFocused(page: Page, text: string): Promise<void> {
  await expect
    .poll(async () => {
      const f = await focused(page);
      return `${f.tag}:${f.name}`;
    })
    .toBe(`H1:${text}`);
  await expectVisibleFocus(page);
}

test('sign in, post an update, open it and sync with the keyboard alone', async ({ page }) => {
  const person = await createPerson('volunteer', 'Kim');
  const title = `Torches at the hall ${Date.now().toString(36)}`;

  await page.goto('/login');
  await expect(page.getByRole('heading', { name: 'Sign in to Lifeline' })).toBeVisible();

  // The first stop is the skip link, shown on focus; it moves focus to the content.
  await page.keyboard.press('Tab');
  expect((await expectVisibleFocus(page)).name).toBe('Skip to content');
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('content');

  await tabTo(page, 'Email');
  await page.keyboard.type(person.email);
  await tabTo(page, 'Password');
  await page.keyboard.type(person.password);
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, 'Updates');

  // Post an update.
  await tabTo(page, 'New update');
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, 'New update');
  await tabTo(page, 'Title');
  await page.keyboard.type(title);
  await tabTo(page, 'Details (optional)');
  await page.keyboard.type('Four torches and spare batteries, ask at the desk.');
  await tabTo(page, 'Post update');
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, title);

  // Back to the feed and open it from there.
  await tabTo(page, '← All updates', true);
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, 'Updates');
  await tabTo(page, title);
  await page.keyboard.press('Enter');
  await expectHeadingFocused(page, title);

  // Sync from the status bar with Space; focus stays on the button throughout.
  await tabTo(page, 'Sync now', true);
  await page.keyboard.press('Space');
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');
  await expect(page.getByTestId('sync-now')).toHaveText('Sync now');
  expect((await expectVisibleFocus(page)).name).toBe('Sync now');
  await expect(page.getByTestId('pending-badge')).toHaveCount(0);
});
