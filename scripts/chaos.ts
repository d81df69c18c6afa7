/**
 * npm run chaos -- [--seed N | --seeds 1,2,3] [--minutes M] [--seconds S] [--browsers B]
 *
 * Runs seeded chaos runs (tests/chaos) and prints each one's schedule and
 * table of invariants. With --minutes it keeps drawing new seeds until the
 * time is up. Exits 1 if any seed broke an invariant, naming the seeds.
 */
import { runChaos } from '../tests/chaos/harness';
import { formatReport } from '../tests/chaos/report';
import { runningTopologies } from '../tests/chaos/topology';

// Interrupted: take the servers and clusters of the current run down too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([...runningTopologies].map((topology) => topology.stop())).finally(() => process.exit(130));
  });
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const seconds = Number(option('seconds') ?? 30);
const minutes = option('minutes') === undefined ? undefined : Number(option('minutes'));
const browsers = Number(option('browsers') ?? 5);
const fixed = option('seeds')?.split(',').map(Number) ?? (option('seed') ? [Number(option('seed'))] : undefined);
if (
  [seconds, browsers, minutes ?? 1].some((value) => !Number.isFinite(value) || value <= 0) ||
  fixed?.some(Number.isNaN)
) {
  console.error('usage: npm run chaos -- [--seed N | --seeds 1,2,3] [--minutes M] [--seconds S] [--browsers B]');
  process.exit(2);
}

const deadline = minutes === undefined ? 0 : Date.now() + minutes * 60_000;
const failed: number[] = [];
let runs = 0;
const totals: Record<string, number> = {};
for (let i = 0; ; i += 1) {
  const seed = fixed ? fixed[i] : minutes !== undefined ? Math.floor(Math.random() * 2 ** 31) : i === 0 ? 1 : undefined;
  if (seed === undefined || (minutes !== undefined && !fixed && Date.now() > deadline)) break;
  const report = await runChaos({ seed, durationMs: seconds * 1000, browsers, log: (line) => console.log(line) });
  runs += 1;
  console.log(formatReport(report, { schedule: false }));
  console.log('');
  for (const [name, value] of Object.entries(report.stats)) {
    if (typeof value === 'number') totals[name] = (totals[name] ?? 0) + value;
  }
  if (!report.ok) failed.push(seed);
  if (fixed && i + 1 >= fixed.length) break;
}
console.log(`${runs} seeds, ${failed.length} failed${failed.length ? `: ${failed.join(', ')}` : ''}`);
console.log(
  `totals: ${Object.entries(totals)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ')}`,
);
process.exit(failed.length > 0 ? 1 : 0);
