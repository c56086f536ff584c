/**
 * The fuzz report: a table of outcome counts per target, then the failing cases (enough to replay them).
 */
import { OUTCOMES } from './outcome';
import type { TargetSummary } from './runner';

/** Pads a table cell. */
function cell(s: string, width: number, right: boolean): string {
  return right ? s.padStart(width) : s.padEnd(width);
}

/**
 * Outcome counts per target (ok / error / crash / slow / memory), the slowest case, the largest array-buffer
 * growth of a case, and the largest growth relative to that case's memory limit.
 */
export function formatTable(summaries: TargetSummary[]): string {
  const header = ['target', 'cases', ...OUTCOMES, 'max ms', 'max MiB', 'max mem/limit', 'seconds'];
  const rows = summaries.map((s) => [
    s.target, String(s.cases), ...OUTCOMES.map((o) => String(s.counts[o])), s.maxMs.toFixed(1),
    (s.maxGrowthBytes / 2 ** 20).toFixed(1), s.maxLimitRatio.toFixed(2), (s.totalMs / 1000).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => cell(c, widths[i], i > 0)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The failing cases, one paragraph each. */
export function formatFailures(summaries: TargetSummary[], seed: number): string {
  const out: string[] = [];
  for (const s of summaries) {
    for (const f of s.failures) {
      out.push(
        `${f.outcome.toUpperCase()} ${f.target} case ${f.index} (seed ${seed}, from ${f.seedName}, ${f.size} bytes, ${f.ms.toFixed(0)} ms)\n` +
          `  mutations: ${f.what.join('; ')}\n  ${f.message}`,
      );
    }
  }
  return out.join('\n');
}

/** Whether any case crashed, hung, was slow or used too much memory. */
export function anyFailure(summaries: TargetSummary[]): boolean {
  return summaries.some((s) => s.counts.crash + s.counts.slow + s.counts.memory > 0);
}
