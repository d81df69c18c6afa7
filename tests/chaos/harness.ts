/**
 * One chaos run: build the topology, let simulated browsers edit and sync
 * while the seeded schedule injects faults, then stop the faults, let
 * everything quiesce, and check the invariants against what was acknowledged.
 */
import { randomUUID } from 'node:crypto';
import { nextPowerOfTen } from '../helpers/cluster';
import { SimulatedBrowser, type ServerSide } from './browser';
import {
  checkInvariants,
  readChangeLog,
  readServerRecords,
  readUpstreamQueue,
  type FinalState,
  type InvariantResult,
} from './invariants';
import { Rng } from './random';
import { describeEvent, planFaults, type FaultEvent } from './schedule';
import { startCloud, type Topology } from './topology';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  browsers: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  schedule: string[];
  stats: Record<string, number | string>;
  invariants: InvariantResult[];
  ok: boolean;
  /** Last lines each server printed, when something failed. */
  serverOutput?: Record<string, string>;
}

const ADMIN = { email: 'chaos-admin@lifeline.test', password: 'chaos-admin-password', displayName: 'Chaos Admin' };
const QUIESCE_TIMEOUT_MS = 90_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const rng = new Rng(options.seed);
  const schedule = planFaults(rng.fork('faults'), options.durationMs);
  log(`seed ${options.seed}: ${schedule.length} faults over ${options.durationMs / 1000} s`);
  for (const event of schedule) log(`  ${describeEvent(event)}`);

  const { topology, startHub } = await startCloud({ upstreamIntervalMs: 400 });
  const stats: Record<string, number | string> = {};
  try {
    const { people, hubKey } = await seedCommunity(topology, options.browsers);
    await startHub(hubKey);
    const browsers = await openBrowsers(topology, people, rng);
    const xidsBefore = {
      cloud: await topology.cloudCluster.currentTxId(),
      hub: await topology.hubCluster.currentTxId(),
    };

    const started = Date.now();
    const stop = { at: started + options.durationMs };
    const counts = { creates: 0, edits: 0, deletes: 0, moves: 0 };
    await Promise.all([
      runSchedule(topology, schedule, started, counts, log),
      ...browsers.map((browser) => runBrowser(browser, rng.fork(`ops-${browser.name}`), stop, counts)),
    ]);

    log('faults over: quiescing');
    const quiesceStarted = Date.now();
    await healEverything(topology);
    await quiesce(topology, browsers, hubKey);
    // New devices, after it all: each pulls everything from nothing, in small pages, from each server.
    const newcomers = await openNewcomers(topology, people[0]!, rng);
    for (const newcomer of newcomers) await newcomer.sync('first sync');
    const state = await finalState(topology, [...browsers, ...newcomers]);
    stats.quiesceMs = Date.now() - quiesceStarted;
    const xidsAfter = {
      cloud: await topology.cloudCluster.currentTxId(),
      hub: await topology.hubCluster.currentTxId(),
    };
    Object.assign(stats, counts, {
      records: state.cloud.size,
      conflicts: [...state.cloud.values()].filter((r) => r.entityType === 'conflict').length,
      changes: browsers.reduce((sum, b) => sum + b.ledger.made.size, 0),
      syncs: browsers.reduce((sum, b) => sum + b.ledger.syncs, 0),
      failedSyncs: browsers.reduce((sum, b) => sum + b.ledger.failedSyncs, 0),
      replays: browsers.reduce((sum, b) => sum + b.ledger.replays, 0),
      restarts: Object.values(topology.servers).reduce((sum, s) => sum + s.starts - 1, 0),
      cloudXids: `${xidsBefore.cloud}→${xidsAfter.cloud}`,
      hubXids: `${xidsBefore.hub}→${xidsAfter.hub}`,
    });
    const invariants = checkInvariants(state);
    const ok = invariants.every((invariant) => invariant.ok);
    return {
      seed: options.seed,
      durationMs: options.durationMs,
      schedule: schedule.map(describeEvent),
      stats,
      invariants,
      ok,
      ...(ok
        ? {}
        : {
            serverOutput: Object.fromEntries(
              Object.entries(topology.servers).map(([name, server]) => [name, server.output()]),
            ),
          }),
    };
  } finally {
    await topology.stop();
  }
}

interface Person {
  userId: string;
  email: string;
  password: string;
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url, ...headers },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return { body: parsed, cookie: response.headers.getSetCookie()[0]?.split(';')[0] ?? '' };
}

/** The community, one account per browser (some coordinators), and the hub's key. */
async function seedCommunity(topology: Topology, count: number): Promise<{ people: Person[]; hubKey: string }> {
  const cloud = topology.servers['cloud-a'].url;
  const admin = await post(cloud, '/api/auth/setup', { community: 'Chaos', ...ADMIN });
  const asAdmin = { cookie: admin.cookie };
  const people: Person[] = [];
  for (let i = 0; i < count; i += 1) {
    const person = { email: `b${i}@lifeline.test`, password: `browser-password-${i}` };
    const created = await post(
      cloud,
      '/api/users',
      { ...person, displayName: `Browser ${i}`, role: i % 3 === 0 ? 'coordinator' : 'volunteer' },
      asAdmin,
    );
    people.push({ ...person, userId: (created.body.user as { id: string }).id });
  }
  const device = await post(cloud, '/api/devices', { name: 'Chaos hub', kind: 'hub' }, asAdmin);
  return { people, hubKey: device.body.apiKey as string };
}

/** Browsers split between the cloud and the hub; two run with clocks hours off. */
async function openBrowsers(topology: Topology, people: Person[], rng: Rng): Promise<SimulatedBrowser[]> {
  const runId = randomUUID().slice(0, 8);
  const skews = [3 * 60 * 60 * 1000, -2 * 60 * 60 * 1000];
  const addressRng = rng.fork('addresses');
  const addressOf = (side: ServerSide) =>
    side === 'hub'
      ? topology.links['browsers-hub'].url
      : addressRng.chance(0.5)
        ? topology.links['browsers-cloud-a'].url
        : topology.links['browsers-cloud-b'].url;
  const browsers = people.map(
    (person, i) =>
      new SimulatedBrowser(
        `b${i}`,
        person,
        i % 2 === 0 ? 'cloud' : 'hub',
        skews[i] ?? rng.fork(`skew-${i}`).int(-3000, 3000),
        addressOf,
        rng.fork(`browser-${i}`),
        rng.fork(`pages-${i}`).int(20, 200),
      ),
  );
  for (const browser of browsers) await browser.open(runId);
  return browsers;
}

/** Fresh browsers that made nothing: one per server, each pulling from a null cursor in pages of 25. */
async function openNewcomers(topology: Topology, person: Person, rng: Rng): Promise<SimulatedBrowser[]> {
  const runId = randomUUID().slice(0, 8);
  const entries: Array<[string, ServerSide, string]> = [
    ['new-cloud-a', 'cloud', topology.links['browsers-cloud-a'].url],
    ['new-cloud-b', 'cloud', topology.links['browsers-cloud-b'].url],
    ['new-hub', 'hub', topology.links['browsers-hub'].url],
  ];
  const newcomers = entries.map(
    ([name, side, url]) => new SimulatedBrowser(name, person, side, 0, () => url, rng.fork(name), 25),
  );
  for (const newcomer of newcomers) await newcomer.open(runId);
  return newcomers;
}

async function runBrowser(
  browser: SimulatedBrowser,
  rng: Rng,
  stop: { at: number },
  counts: { creates: number; edits: number; deletes: number; moves: number },
): Promise<void> {
  while (Date.now() < stop.at) {
    await new Promise((resolve) => setTimeout(resolve, rng.int(50, 600)));
    const op = rng.weighted({ create: 5, edit: 8, remove: 1, sync: 4, replay: 1, move: 0.4 });
    try {
      if (op === 'create') {
        await browser.create();
        counts.creates += 1;
      } else if (op === 'edit') {
        if (await browser.edit()) counts.edits += 1;
      } else if (op === 'remove') {
        if (await browser.remove()) counts.deletes += 1;
      } else if (op === 'sync') {
        await browser.sync('chaos');
      } else if (op === 'replay') {
        await browser.replay();
      } else {
        browser.moveTo(browser.side === 'hub' ? 'cloud' : 'hub');
        counts.moves += 1;
      }
    } catch (error) {
      // The PWA code itself must never throw at a fault: that is a bug to report.
      browser.ledger.serverErrors.push(`${browser.name} ${op} threw: ${(error as Error).stack ?? String(error)}`);
    }
  }
}

async function runSchedule(
  topology: Topology,
  schedule: FaultEvent[],
  started: number,
  counts: Record<string, number>,
  log: (line: string) => void,
): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const event of schedule) {
    const wait = started + event.at - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      applyFault(topology, event).catch((error: unknown) =>
        log(`fault ${describeEvent(event)} failed: ${String(error)}`),
      ),
    );
    counts.faults = (counts.faults ?? 0) + 1;
  }
  await Promise.all(pending);
}

const restarting = new Set<string>();

async function applyFault(topology: Topology, event: FaultEvent): Promise<void> {
  if (event.kind === 'link') {
    const link = topology.links[event.link];
    await link.setMode(event.mode);
    await new Promise((resolve) => setTimeout(resolve, event.forMs));
    // Faults overlap: only undo our own.
    if (link.currentMode === event.mode) await link.setMode({ kind: 'pass' });
    return;
  }
  if (event.kind === 'kill') {
    const server = topology.servers[event.server];
    // One outage at a time per server: a kill that lands while it restarts is dropped.
    if (!server.running || restarting.has(event.server)) return;
    restarting.add(event.server);
    try {
      await server.kill(event.signal);
      topology.routeUpstream();
      await new Promise((resolve) => setTimeout(resolve, event.downMs));
      await server.start();
      topology.routeUpstream();
    } finally {
      restarting.delete(event.server);
    }
    return;
  }
  const cluster = event.cluster === 'cloud' ? topology.cloudCluster : topology.hubCluster;
  // A power of ten well ahead (a fresh cluster is near 1,000: this is 10,000), minus a few ids, so the load crosses it.
  const boundary = nextPowerOfTen((await cluster.currentTxId()) * 10n);
  await cluster.burnTransactionIdsTo(boundary - 10n);
}

async function healEverything(topology: Topology): Promise<void> {
  await Promise.all(Object.values(topology.links).map((link) => link.setMode({ kind: 'pass' })));
  for (const server of Object.values(topology.servers)) if (!server.running) await server.start();
  topology.routeUpstream();
}

/**
 * Sync every browser and wait for the hub until nothing moves: browsers
 * drained and caught up, the hub queue empty, and two rounds in a row in
 * which no replica changed.
 */
async function quiesce(topology: Topology, browsers: SimulatedBrowser[], hubKey: string): Promise<void> {
  const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
  let previous = '';
  let stableRounds = 0;
  for (;;) {
    for (const browser of browsers) await browser.sync('quiesce');
    await hubRound(topology, hubKey);
    for (const browser of browsers) await browser.sync('quiesce');
    const state = await finalState(topology, browsers);
    const fingerprint = JSON.stringify([
      [...state.cloud.values()].map((r) => [r.key, r.stamps, r.deletedAt]),
      [...state.hub.values()].map((r) => [r.key, r.stamps]),
      state.hubQueue,
      state.browsers.map((b) => [b.outbox, b.replica.length]),
    ]);
    stableRounds = fingerprint === previous ? stableRounds + 1 : 0;
    previous = fingerprint;
    const drained = state.hubQueue.pending === 0 && state.browsers.every((b) => b.outbox === 0);
    if ((drained && stableRounds >= 1) || Date.now() > deadline) return;
  }
}

/** Wait for the hub to finish a full round with the cloud that started after this call. */
async function hubRound(topology: Topology, hubKey: string): Promise<void> {
  const mark = new Date().toISOString();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${topology.servers.hub.url}/api/sync/status`, {
        headers: { authorization: `Bearer ${hubKey}` },
      });
      const { upstream } = (await response.json()) as { upstream?: { lastSyncAt: string | null; state: string } };
      if (upstream?.state === 'online' && upstream.lastSyncAt && upstream.lastSyncAt > mark) return;
    } catch {
      // restarting
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function finalState(topology: Topology, browsers: SimulatedBrowser[]): Promise<FinalState> {
  const [cloud, cloudLog, hub, hubLog, hubQueue] = await Promise.all([
    readServerRecords(topology.cloudDatabaseUrl),
    readChangeLog(topology.cloudDatabaseUrl),
    readServerRecords(topology.hubDatabaseUrl),
    readChangeLog(topology.hubDatabaseUrl),
    readUpstreamQueue(topology.hubDatabaseUrl),
  ]);
  return {
    cloud,
    cloudLog,
    hub,
    hubLog,
    hubQueue,
    browsers: await Promise.all(
      browsers.map(async (browser) => ({
        name: browser.name,
        replica: await browser.replica(),
        ...(await browser.pending()),
        ledger: browser.ledger,
      })),
    ),
  };
}
