/** A chaos run as text: the seed, the schedule, what happened, and the table of invariants. */
import type { ChaosReport } from './harness';

export function formatReport(report: ChaosReport, options: { schedule?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`chaos seed ${report.seed} (${report.durationMs / 1000} s of faults): ${report.ok ? 'PASS' : 'FAIL'}`);
  if (options.schedule ?? !report.ok) {
    lines.push('schedule:');
    for (const event of report.schedule) lines.push(`  ${event}`);
  }
  lines.push(
    `ran: ${Object.entries(report.stats)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')}`,
  );
  const width = Math.max(...report.invariants.map((invariant) => invariant.name.length));
  lines.push(`${'invariant'.padEnd(width)}  result  checked`);
  for (const invariant of report.invariants) {
    lines.push(
      `${invariant.name.padEnd(width)}  ${(invariant.ok ? 'ok' : 'FAIL').padEnd(6)}  ${String(invariant.checked).padStart(7)}`,
    );
    for (const failure of invariant.failures) lines.push(`    - ${failure}`);
  }
  if (!report.ok && report.serverOutput) {
    for (const [server, output] of Object.entries(report.serverOutput)) {
      if (output.trim()) lines.push(`--- ${server} (last lines) ---`, output.split('\n').slice(-30).join('\n'));
    }
  }
  if (!report.ok)
    lines.push(`rerun this schedule: npm run chaos -- --seed ${report.seed} --seconds ${report.durationMs / 1000}`);
  return lines.join('\n');
}
