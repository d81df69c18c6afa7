/** Embedded mode (PGlite, Postgres 18 in WASM): the same migration, trigger and search, through the API. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../backend/src/server';
import { startFakeOllama, type FakeServer } from './fakes/servers';
import { answerText, freshDataDir, Member, startTestServer, WATER_GUIDE } from './helpers';

let dataDir: Awaited<ReturnType<typeof freshDataDir>>;
let server: RunningServer;
let ollama: FakeServer;
let member: Member;
let guideId: string;

beforeAll(async () => {
  dataDir = await freshDataDir();
  ollama = await startFakeOllama();
  server = await startTestServer({ DATA_DIR: dataDir.dir, OLLAMA_URL: ollama.url, LLM_TIMEOUT_MS: '2000' });
  expect(server.ctx.db.kind).toBe('pglite');
  member = await Member.setup(server.url);
  guideId = await member.write('document', { title: 'Emergency guide', body: WATER_GUIDE });
  await member.write('document', {
    title: 'Flood barriers',
    body: 'Barriers <script>alert(1)</script> go up <img src=x onerror=alert(2)> before the flood.',
  });
});

afterAll(async () => {
  await server?.close();
  await ollama?.close();
  await dataDir?.remove();
});

describe('assistant in embedded mode', () => {
  it('when a question is asked, then the right section is retrieved and Ollama answers from it', async () => {
    const { events } = await member.askStream('How long should I boil drinking water?');
    const meta = events[0]!.data as { provider: string; sources: { entityId: string; heading: string }[] };
    expect(meta.provider).toBe('ollama');
    expect(meta.sources[0]).toMatchObject({ entityId: guideId, heading: 'Drinking water' });
    expect(answerText(events)).toBe('Boil water for one minute [1].');
    expect(ollama.requests[0]!.messages[1]!.content).toContain('rolling boil for one minute');
  });

  it('when document text holds HTML, then the snippet is escaped', async () => {
    const { body } = await member.askJson('flood barriers');
    const sources = body.sources as { title: string; snippet: string }[];
    const snippet = sources.find((source) => source.title === 'Flood barriers')!.snippet;
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>]/);
    expect(snippet).toContain('&lt;img src=x onerror=alert(2)&gt;');
  });

  it('when a document is deleted, then it is no longer a source', async () => {
    await member.remove('document', guideId);
    const { body } = await member.askJson('boil drinking water');
    expect((body.sources as { entityId: string }[]).map((source) => source.entityId)).not.toContain(guideId);
  });
});
