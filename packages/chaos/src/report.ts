import type { Verdict } from './verify.js';

/** The summary table of one or more runs, one row per backend, then the violations (at most `limit`). */
export function renderSummary(rows: ReadonlyArray<{ backend: string; verdict: Verdict; seconds: number }>, limit = 30): string[] {
  const header = [
    'backend',
    'workflows',
    'rounds',
    'completed',
    'dead-lettered',
    'lost',
    'order',
    'overlaps',
    'stale (paused)',
    'duplicates by cause',
    'recovery p50/max',
    'seconds',
  ];
  const table = rows.map(({ backend, verdict, seconds }) => [
    backend,
    String(verdict.workflows),
    String(verdict.rounds),
    String(verdict.completed),
    `${verdict.deadLettered}${verdict.deadLetterReasons.size ? ` (${[...verdict.deadLetterReasons].map(([r, n]) => `${n}× ${r}`).join('; ')})` : ''}`,
    String(verdict.lost),
    String(verdict.orderViolations),
    String(verdict.overlaps),
    String(verdict.staleOverlaps),
    [...verdict.duplicates].map(([cause, n]) => `${cause} ${n}`).join(', ') || '0',
    verdict.recoveries.length
      ? `${seconds1(percentile(verdict.recoveries, 50))}/${seconds1(Math.max(...verdict.recoveries))} s (${verdict.recoveries.length} kills${verdict.compoundRecoveries ? `, ${verdict.compoundRecoveries} with another fault in the window` : ''})`
      : '-',
    seconds.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(line)];
  for (const { backend, verdict } of rows) {
    if (!verdict.violations.length) continue;
    out.push('', `${backend}: ${verdict.violations.length} violation(s)`);
    for (const v of verdict.violations.slice(0, limit))
      out.push(`  [invariant ${v.invariant}] ${v.workflow}: ${v.what}${v.lines.length ? `  (${v.lines.join(', ')})` : ''}`);
    if (verdict.violations.length > limit) out.push(`  … and ${verdict.violations.length - limit} more`);
  }
  return out;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function seconds1(ms: number): string {
  return (ms / 1000).toFixed(1);
}
