import { createPerson, expect, goOffline, nav, signIn, syncNow, test } from './helpers';

test('the assistant answers from documents with its provider and sources, never runs their markup, and searches the device offline', async ({
  page,
  context,
}) => {
  const coordinator = await createPerson('coordinator', 'Cora');
  const tag = Date.now().toString(36);
  const title = `Water point ${tag} <img src=x onerror="window.__pwned=1">`;
  const body = [
    '# Drinking water',
    '',
    `The pump behind Elm school gives drinking water from 8am <img src=x onerror="window.__pwned=1"> (code ${tag}).`,
    '',
    'Boil it for one minute before drinking.',
  ].join('\n');
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });

  await signIn(page, coordinator);
  await nav(page, 'Documents').click();
  await page.getByRole('link', { name: 'New document' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel(/^Text/).fill(body);
  await page.getByRole('button', { name: 'Save document' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await syncNow(page);
  await expect(page.getByTestId('pending-count')).toHaveText('All changes sent');

  // Online, with no model configured on this server: the extractive answer.
  await nav(page, 'Assistant').click();
  await page.getByLabel('Your question').fill(`Where is the drinking water pump ${tag}?`);
  await page.getByRole('button', { name: 'Ask' }).click();
  const online = page.getByTestId('assistant-exchange').last();
  await expect(online.getByTestId('assistant-provider')).toContainText(
    'No model reachable — best passages from your documents',
  );
  await expect(online.getByTestId('assistant-answer')).toContainText('pump behind Elm school');
  // The markup is shown as the characters it is.
  await expect(online.getByTestId('assistant-answer')).toContainText('<img src=x onerror=');
  const source = online.getByTestId('assistant-source').first();
  await expect(source).toHaveText(title);
  await expect(online.getByTestId('assistant-sources')).toContainText('[1]');
  await expect(online.getByTestId('assistant-sources').locator('mark').first()).toBeVisible();
  await expect(online.locator('img')).toHaveCount(0);
  await expect(online.locator('mark *')).toHaveCount(0);
  const href = await source.getAttribute('href');
  expect(href).toMatch(/^\/documents\/[0-9a-f-]{36}$/);

  // Offline: the same question searches the documents already on this device.
  await goOffline(context, page);
  await expect(page.getByTestId('assistant-offline')).toBeVisible();
  await page.getByLabel('Your question').fill(`drinking water pump ${tag}`);
  await page.getByRole('button', { name: 'Ask' }).click();
  const offline = page.getByTestId('assistant-exchange').last().getByTestId('offline-results');
  await expect(offline).toContainText('Offline search');
  const hit = offline.getByTestId('offline-hit').first();
  await expect(hit.getByRole('link')).toHaveText(title);
  await expect(hit).toContainText('pump behind Elm school');
  await expect(hit.locator('mark').first()).toBeVisible();
  await expect(offline.locator('img')).toHaveCount(0);
  expect(await hit.getByRole('link').getAttribute('href')).toBe(href);

  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);
  await context.setOffline(false);
});

test('the chat screen names the model, shows its markup as text, words a 429, and stops an answer', async ({
  page,
}) => {
  const person = await createPerson('volunteer', 'Quinn');
  await signIn(page, person);
  await nav(page, 'Assistant').click();
  const ask = async (question: string) => {
    await page.getByLabel('Your question').fill(question);
    await page.getByRole('button', { name: 'Ask' }).click();
  };

  // A streamed model answer (the e2e server has no model: this one is played back by the test).
  const sourceId = '0b7c2a4e-8f1d-4c3b-9a6e-5d4c3b2a1f00';
  const events = [
    [
      'meta',
      {
        provider: 'groq',
        sources: [
          {
            n: 1,
            entityType: 'update',
            entityId: sourceId,
            title: 'Shelter <b>list</b>',
            heading: null,
            snippet: 'The <mark>shelter</mark> <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>',
          },
        ],
      },
    ],
    ['token', { text: 'The hall is open <img src=x onerror="window.__pwned=3"> ' }],
    ['token', { text: 'until 9pm [1].' }],
    ['done', { provider: 'groq', ms: 850 }],
  ] as const;
  await page.route('**/api/assistant/ask', (route) =>
    route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join(''),
    }),
  );
  await ask('Which shelter is open?');
  const answered = page.getByTestId('assistant-exchange').last();
  await expect(answered.getByTestId('assistant-provider')).toContainText('Answered by: Groq');
  await expect(answered.getByTestId('assistant-answer')).toHaveText(
    'The hall is open <img src=x onerror="window.__pwned=3"> until 9pm [1].',
  );
  await expect(answered.getByTestId('assistant-source')).toHaveText('Shelter <b>list</b>');
  expect(await answered.getByTestId('assistant-source').getAttribute('href')).toBe(`/updates/${sourceId}`);
  await expect(answered.getByTestId('assistant-sources').locator('mark')).toHaveText('shelter');
  await expect(answered.locator('img, script, b')).toHaveCount(0);
  await page.unroute('**/api/assistant/ask');

  // Rate limited: said in plain words.
  await page.route('**/api/assistant/ask', (route) =>
    route.fulfill({
      status: 429,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'too_many_questions', message: 'too many questions' } }),
    }),
  );
  await ask('Another one?');
  await expect(page.getByTestId('assistant-exchange').last().getByRole('alert')).toHaveText(
    'Too many questions, wait a few minutes.',
  );
  await page.unroute('**/api/assistant/ask');

  // Stop: the request is abandoned and the exchange says the answer is incomplete.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/assistant/ask', async (route) => {
    await held;
    await route.abort().catch(() => undefined);
  });
  await ask('A slow one?');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('assistant-exchange').last().getByTestId('assistant-stopped')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Stop' })).toHaveCount(0);
  release();
  await page.unroute('**/api/assistant/ask');

  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});
