/** Retrieval on real Postgres: passages kept by the trigger, ranked, scoped, and safe to show. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUpIndex } from '../../backend/src/assistant/indexer';
import { markedToHtml, searchPassages } from '../../backend/src/assistant/retrieval';
import type { RunningServer } from '../../backend/src/server';
import { createTestDatabase, Member, startTestServer, WATER_GUIDE, type TestDatabase } from './helpers';

const OPERATOR_TOKEN = 'operator-token-for-tests';
const XSS_BODY =
  'Flood barriers <script>alert("xss")</script> are stored behind the library. ' +
  '<img src=x onerror="alert(1)"> Sandbags & barriers are handed out by the "warden". ' +
  'Barriers go up <img src=x onerror=alert(2)> before the flood.';

let database: TestDatabase;
let server: RunningServer;
let member: Member;
let communityId: string;
let guideId: string;

// Passages are indexed after the write, as the assistant does before it searches.
const search = async (question: string) => {
  await catchUpIndex(server.ctx.db);
  return searchPassages(server.ctx.db, communityId, question);
};

beforeAll(async () => {
  database = await createTestDatabase();
  server = await startTestServer({ DATABASE_URL: database.url, OPERATOR_TOKEN });
  member = await Member.setup(server.url);
  communityId = await member.communityId();
  guideId = await member.write('document', { title: 'Emergency guide', body: WATER_GUIDE, tags: ['guide'] });
  await member.write('document', { title: 'Flood barriers', body: XSS_BODY, tags: [] });
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
});

describe('retrieval', () => {
  it('when a long guide is asked about one topic, then the passage of that section ranks first', async () => {
    const passages = await search('How long should I boil drinking water?');
    expect(passages[0]).toMatchObject({ entityType: 'document', entityId: guideId, heading: 'Drinking water' });
    expect(passages[0]!.content).toContain('rolling boil for one minute');
    expect(passages[0]!.content).not.toContain('carbon monoxide');
    expect(passages[0]!.snippet).toMatch(/<mark>boil<\/mark>/i);
  });

  it('when the question uses web-search syntax, then phrases are honoured', async () => {
    const passages = await search('"carbon monoxide" garage');
    expect(passages[0]?.heading).toBe('Generators');
  });

  it('when no word of the question is in any document, then nothing is returned', async () => {
    expect(await search('xylophone quartet rehearsal')).toEqual([]);
    expect(await search('the and of')).toEqual([]);
  });

  it('when a document is edited, then its passages follow the new text', async () => {
    const id = await member.write('document', { title: 'Radio net', body: 'Check in on channel nine at noon.' });
    expect((await search('radio channel')).map((p) => p.entityId)).toContain(id);
    await member.write('document', { body: 'Check in on the repeater at sunset.' }, id);
    expect((await search('channel nine')).map((p) => p.entityId)).not.toContain(id);
    expect((await search('repeater sunset'))[0]?.entityId).toBe(id);
  });

  it('when a document is deleted, then it is never retrieved', async () => {
    const id = await member.write('document', { title: 'Bakery hours', body: 'The bakery opens at six for bread.' });
    expect((await search('bakery bread'))[0]?.entityId).toBe(id);
    await member.remove('document', id);
    expect(await search('bakery bread')).toEqual([]);
  });

  it('when updates are recent, then they are retrieved; when old, then not', async () => {
    const id = await member.write('update', {
      kind: 'incident',
      title: 'Bridge closed',
      body: 'The footbridge is unsafe.',
    });
    const found = await search('is the footbridge open?');
    expect(found[0]).toMatchObject({ entityType: 'update', entityId: id, kind: 'incident', status: 'open' });
    await server.ctx.db.query(
      `UPDATE assistant_passages SET source_updated_at = now() - interval '40 days' WHERE entity_id = $1`,
      [id],
    );
    expect((await search('footbridge')).map((p) => p.entityId)).not.toContain(id);
  });

  it('when another community has matching documents, then they never come back', async () => {
    const created = await fetch(`${server.url}/api/communities`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Hillside',
        admin: { email: 'hill@example.org', password: 'correct horse battery', displayName: 'Hilda' },
      }),
    });
    expect(created.status).toBe(201);
    const other = await Member.login(server.url, 'hill@example.org', 'correct horse battery');
    const otherId = await other.write('document', { title: 'Hillside water', body: 'Boil drinking water twice.' });
    expect((await search('boil drinking water')).map((p) => p.entityId)).not.toContain(otherId);
    const theirs = await searchPassages(server.ctx.db, await other.communityId(), 'boil drinking water');
    expect(theirs.map((p) => p.entityId)).toEqual([otherId]);
  });

  it('when document text holds HTML, then snippets carry it escaped and only <mark> is markup', async () => {
    const [passage] = await search('flood barriers sandbags warden');
    expect(passage?.title).toBe('Flood barriers');
    const snippet = passage!.snippet;
    expect(snippet).not.toMatch(/<script|<img|onerror="/i);
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>"]/);
    // ts_headline drops what its parser takes for a tag and keeps the rest verbatim: escaped here.
    expect(snippet).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(snippet).toContain('&amp;');
    expect(snippet).toMatch(/<mark>barriers<\/mark>/i);
  });

  it('when a section is longer than a passage, then it is cut into paragraph windows under its heading', async () => {
    const { rows } = await server.ctx.db.query<{ ord: number; heading: string | null; content: string }>(
      `SELECT ord, heading, content FROM assistant_split_markdown($1, 100)`,
      [`Intro line.\n\n# Big\n${'a'.repeat(60)}\n\n${'b'.repeat(60)}\n\n${'c'.repeat(250)}\n## Small ##\nshort`],
    );
    expect(rows.map((row) => [row.ord, row.heading, row.content.length])).toEqual([
      [1, null, 11],
      [2, 'Big', 60],
      [3, 'Big', 60],
      [4, 'Big', 100],
      [5, 'Big', 100],
      [6, 'Big', 50],
      [7, 'Small', 5],
    ]);
  });
});

describe('highlight markup', () => {
  it('when the marked text holds HTML or stray markers, then only balanced <mark> tags come out', () => {
    expect(markedToHtml('a \u0002<b>\u0003 & \u0003c\u0002"d')).toBe(
      'a <mark>&lt;b&gt;</mark> &amp; c<mark>&quot;d</mark>',
    );
  });
});
