/**
 * The chaos harness in the test suite: a few fixed seeds, each a short run
 * of real faults against real processes (`npm run chaos` runs longer).
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './harness';
import { formatReport } from './report';

const SEEDS = (process.env.CHAOS_SEEDS ?? '1,2,3').split(',').map(Number);
const SECONDS = Number(process.env.CHAOS_SECONDS ?? 15);

describe('sync under faults', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: every invariant holds after ${SECONDS} s of faults`, async () => {
      const report = await runChaos({ seed, durationMs: SECONDS * 1000, browsers: 5 });
      console.log(formatReport(report));
      expect(report.invariants.filter((invariant) => !invariant.ok).map((invariant) => invariant.name)).toEqual([]);
    }, 240_000);
  }
});
