/**
 * npm run bench:load — many clients at once against two cloud instances on
 * one Postgres database: 500 simulated browsers, each its own session, each
 * sync pushing 1–3 changes and pulling what is new since its cursor, plus 20
 * hubs pushing 1–5 changes and pulling with their keys every 5 seconds.
 *
 * Each browser syncs, waits a while (exponential, mean BENCH_INTERVALS
 * seconds, as people do), syncs again; the interval shrinks step by step.
 * For each step it prints the sustained syncs/s, p50/p99 latency of a sync
 * (push + pull), errors and the records served per second (every browser
 * sees every record: the pull fan-out is what a community's cloud pays for),
 * then the rate where p99 passes 1 s. The load generator shares the 2 cores
 * with the servers and Postgres. Prints, never asserts.
 *
 *   BENCH_BROWSERS=500 BENCH_HUBS=20 BENCH_INTERVALS=60,30,15,8,4 BENCH_STEP_SECONDS=20
 */
import { randomUUID } from 'node:crypto';
import { createUpdate, edit, seedCommunity } from '../tests/helpers/client';
import { createTestDatabase } from '../tests/helpers/database';
import { spawnServer } from '../tests/helpers/process';
import { useServerBundle } from './bench/server-bundle';
import { closeWire, signIn, wirePost } from './bench/wire';

const BROWSERS = Number(process.env.BENCH_BROWSERS ?? 500);
const HUBS = Number(process.env.BENCH_HUBS ?? 20);
const INTERVALS = (process.env.BENCH_INTERVALS ?? '60,30,15,8,4').split(',').map(Number);
const STEP_MS = Number(process.env.BENCH_STEP_SECONDS ?? 20) * 1000;
const ACCOUNTS = 50;

interface Browser {
  url: string;
  cookie: string;
  cursor: string | null;
  mine: Array<{ entityId: string; stamp: string }>;
  busy: boolean;
  node: string;
}

interface Hub {
  url: string;
  key: string;
  cursor: string | null;
  node: string;
}

interface Step {
  latencies: number[];
  errors: number;
  errorSamples: string[];
  served: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function changesFor(browser: Browser, count: number) {
  return Array.from({ length: count }, () => {
    const own =
      browser.mine.length > 0 && Math.random() < 0.5
        ? browser.mine[Math.floor(Math.random() * browser.mine.length)]
        : undefined;
    if (own) {
      const change = edit(browser.node, own.entityId, { status: 'in_progress' }, { status: own.stamp });
      own.stamp = change.stamps.status;
      return change;
    }
    const change = createUpdate(browser.node, { kind: 'need', title: `Water at point ${randomUUID().slice(0, 6)}` });
    browser.mine.push({ entityId: change.entityId, stamp: change.stamps.kind });
    return change;
  });
}

async function pullUntilCaughtUp(
  url: string,
  auth: { cookie?: string; bearer?: string },
  from: string | null,
  step?: Step,
) {
  let cursor = from;
  for (let pages = 0; pages < 20; pages += 1) {
    const reply = await wirePost<{ cursor: string; hasMore: boolean; records: unknown[] }>(
      url,
      '/api/sync/pull',
      { clientId: 'load', cursor, limit: 1000 },
      auth,
    );
    if (reply.status !== 200) throw new Error(`pull ${reply.status}`);
    if (step) step.served += reply.body.records.length;
    cursor = reply.body.cursor;
    if (!reply.body.hasMore || reply.body.records.length === 0) break;
  }
  return cursor;
}

/** One browser sync: push 1–3 changes, then pull what is new. */
async function browserSync(browser: Browser, step: Step): Promise<void> {
  const started = performance.now();
  try {
    const push = await wirePost(
      browser.url,
      '/api/sync/push',
      { clientId: browser.node, changes: changesFor(browser, 1 + Math.floor(Math.random() * 3)) },
      { cookie: browser.cookie },
    );
    if (push.status !== 200) throw new Error(`push ${push.status} ${JSON.stringify(push.body)}`);
    browser.cursor = await pullUntilCaughtUp(browser.url, { cookie: browser.cookie }, browser.cursor, step);
    step.latencies.push(performance.now() - started);
  } catch (error) {
    step.errors += 1;
    if (step.errorSamples.length < 3) step.errorSamples.push(String(error));
  }
}

async function hubLoop(hub: Hub, until: () => boolean, step: () => Step): Promise<void> {
  while (!until()) {
    const current = step();
    try {
      // A neighbourhood's edits arrive through its hub: a few at a time.
      const changes = Array.from({ length: 1 + Math.floor(Math.random() * 5) }, () =>
        createUpdate(hub.node, { kind: 'status', title: 'Hub report' }),
      );
      const push = await wirePost(hub.url, '/api/sync/push', { clientId: hub.node, changes }, { bearer: hub.key });
      if (push.status !== 200) throw new Error(`hub push ${push.status}`);
      hub.cursor = await pullUntilCaughtUp(hub.url, { bearer: hub.key }, hub.cursor);
    } catch (error) {
      current.errors += 1;
      if (current.errorSamples.length < 3) current.errorSamples.push(`hub: ${String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

async function main() {
  await useServerBundle();
  const database = await createTestDatabase('lifeline_load');
  const servers = await Promise.all([
    spawnServer({ DATABASE_URL: database.url, LOG_LEVEL: 'error' }),
    spawnServer({ DATABASE_URL: database.url, LOG_LEVEL: 'error' }),
  ]);
  try {
    const urls = servers.map((server) => server.url);
    const seeded = await seedCommunity(urls[0]!);
    const accounts: Array<{ email: string; password: string }> = [];
    for (let i = 0; i < ACCOUNTS; i += 1) {
      const person = { email: `load${i}@eastside.example`, password: `load-password-${i}` };
      const created = await seeded.admin.post('/api/users', { ...person, displayName: `Load ${i}`, role: 'volunteer' });
      if (created.status !== 201) throw new Error(`account: ${created.status}`);
      accounts.push(person);
    }
    console.log(`Lifeline load benchmark — 2 instances, ${BROWSERS} browsers (own sessions), ${HUBS} hubs`);
    let started = performance.now();
    const browsers: Browser[] = [];
    for (let i = 0; i < BROWSERS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, BROWSERS - i) }, async (_, k) => {
          const url = urls[(i + k) % urls.length]!;
          const account = accounts[(i + k) % accounts.length]!;
          const cookie = await signIn(url, account.email, account.password);
          return { url, cookie, cursor: null, mine: [], busy: false, node: `b${i + k}` } satisfies Browser;
        }),
      );
      browsers.push(...batch);
    }
    console.log(`  ${BROWSERS} sign-ins in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const hubs: Hub[] = [];
    for (let i = 0; i < HUBS; i += 1) {
      const device = await seeded.admin.post('/api/devices', { name: `Hub ${i}`, kind: 'hub' });
      hubs.push({ url: urls[i % urls.length]!, key: device.body.apiKey, cursor: null, node: `h${i}` });
    }
    started = performance.now();
    await Promise.all(
      browsers.map(
        async (browser) => (browser.cursor = await pullUntilCaughtUp(browser.url, { cookie: browser.cookie }, null)),
      ),
    );
    console.log(`  first pull of ${BROWSERS} browsers in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    let step: Step = { latencies: [], errors: 0, errorSamples: [], served: 0 };
    let finished = false;
    const hubRuns = hubs.map((hub) =>
      hubLoop(
        hub,
        () => finished,
        () => step,
      ),
    );
    console.log('\n  mean wait  offered/s  sustained/s     p50 ms     p99 ms   errors   records served/s');
    let firstSlow: number | null = null;
    for (const interval of INTERVALS) {
      step = { latencies: [], errors: 0, errorSamples: [], served: 0 };
      const current = step;
      const stepStarted = performance.now();
      const deadline = stepStarted + STEP_MS;
      // Closed loop: each browser syncs, then waits (exponential, mean `interval`), until the step ends.
      await Promise.all(
        browsers.map(async (browser) => {
          for (;;) {
            const wait = -Math.log(1 - Math.random()) * interval * 1000;
            if (performance.now() + wait > deadline) return;
            await new Promise((resolve) => setTimeout(resolve, wait));
            await browserSync(browser, current);
          }
        }),
      );
      const elapsed = (performance.now() - stepStarted) / 1000;
      const sorted = [...current.latencies].sort((a, b) => a - b);
      const p99 = percentile(sorted, 99);
      const offered = BROWSERS / interval;
      if (firstSlow === null && p99 > 1000) firstSlow = offered;
      console.log(
        `  ${`${interval} s`.padStart(9)}  ${offered.toFixed(0).padStart(9)}  ${(sorted.length / elapsed).toFixed(0).padStart(11)}  ` +
          `${percentile(sorted, 50).toFixed(0).padStart(9)}  ${p99.toFixed(0).padStart(9)}  ${String(current.errors).padStart(7)}   ` +
          `${(current.served / elapsed).toFixed(0).padStart(16)}`,
      );
      for (const sample of current.errorSamples) console.log(`      error: ${sample}`);
    }
    finished = true;
    await Promise.all(hubRuns);
    console.log(
      firstSlow === null
        ? `\n  p99 stayed under 1 s up to ${(BROWSERS / INTERVALS[INTERVALS.length - 1]!).toFixed(0)} offered syncs/s`
        : `\n  p99 passes 1 s at about ${firstSlow.toFixed(0)} offered syncs/s`,
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
    closeWire();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
