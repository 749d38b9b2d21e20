import type { BenchRow } from './types.js';

/** The targets of issue 17 / DESIGN.md "Performance targets". */
export const TARGETS = {
  throughputRatio: 0.9,
  latencyRatio: 1.25,
  memoryMsgsPerSec: 1_000_000,
  memoryDispatchesPerSec: 50_000,
  dispatchP99Ms: { memory: 0.2, 'redis-streams': 3, nats: 3, kafka: 15 } as Record<string, number>,
  idleCpuPercent: 0.5,
  bytesPerInFlightRatio: 2,
} as const;

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const num = (x: number): string => Math.round(x).toLocaleString('en-US');

function verdict(met: boolean, detail: string, missedBy: string): string {
  return met ? `met (${detail})` : `MISSED by ${missedBy} (${detail})`;
}

/** The raw row a2a-bus is held against: the best raw row of the same backend and kind. */
function bestRaw(row: BenchRow, rows: readonly BenchRow[]): BenchRow | undefined {
  const raws = rows.filter((r) => r.client !== 'a2a-bus' && r.backend === row.backend && r.kind === row.kind);
  if (row.kind === 'throughput') return raws.sort((a, b) => b.msgsPerSec - a.msgsPerSec)[0];
  return raws.sort((a, b) => (a.p99Ms ?? Number.POSITIVE_INFINITY) - (b.p99Ms ?? Number.POSITIVE_INFINITY))[0];
}

/** `met (…)` / `MISSED by … (…)` for an a2a-bus row with a target; '' otherwise. */
export function targetStatus(row: BenchRow, rows: readonly BenchRow[]): string {
  if (row.kind === 'idle') {
    const cpu = row.cpuPercent ?? Number.NaN;
    const detail = `${cpu.toFixed(2)}% < ${TARGETS.idleCpuPercent}%`;
    if (!row.client.startsWith('a2a-bus')) return cpu < TARGETS.idleCpuPercent ? 'baseline, under target' : 'baseline, over target';
    return verdict(cpu < TARGETS.idleCpuPercent, detail, `${(cpu - TARGETS.idleCpuPercent).toFixed(2)} points`);
  }
  if (row.client !== 'a2a-bus') return row.kind === 'throughput' || row.kind === 'one-way' ? 'baseline' : '';
  switch (row.kind) {
    case 'throughput': {
      if (row.backend === 'memory') {
        const goal = TARGETS.memoryMsgsPerSec;
        return verdict(row.msgsPerSec >= goal, `${num(row.msgsPerSec)} ≥ ${num(goal)}/s`, pct(1 - row.msgsPerSec / goal));
      }
      const raw = bestRaw(row, rows);
      if (!raw) return 'no raw row';
      const ratio = row.msgsPerSec / raw.msgsPerSec;
      return verdict(
        ratio >= TARGETS.throughputRatio,
        `${pct(ratio)} of ${raw.client} ≥ 90%`,
        `${(TARGETS.throughputRatio * 100 - ratio * 100).toFixed(0)} points`,
      );
    }
    case 'one-way': {
      const raw = bestRaw(row, rows);
      if (!raw?.p50Ms || !raw.p99Ms || row.p50Ms === undefined || row.p99Ms === undefined) return row.backend === 'memory' ? '' : 'no raw row';
      const p50 = row.p50Ms / raw.p50Ms;
      const p99 = row.p99Ms / raw.p99Ms;
      const worst = Math.max(p50, p99);
      return verdict(worst <= TARGETS.latencyRatio, `p50 ${p50.toFixed(2)}x, p99 ${p99.toFixed(2)}x ≤ 1.25x`, `${(worst - TARGETS.latencyRatio).toFixed(2)}x`);
    }
    case 'dispatch': {
      const limit = TARGETS.dispatchP99Ms[row.backend];
      if (limit === undefined || row.p99Ms === undefined) return '';
      const hop = rows.find((r) => r.backend === row.backend && r.client === 'a2a-bus' && r.kind === 'one-way');
      const hops = hop?.p50Ms && row.p50Ms !== undefined ? `; p50 = ${(row.p50Ms / hop.p50Ms).toFixed(1)} one-way hops` : '';
      return verdict(row.p99Ms < limit, `p99 ${row.p99Ms.toFixed(2)} < ${limit} ms${hops}`, `${(row.p99Ms - limit).toFixed(2)} ms`);
    }
    case 'dispatch-parallel': {
      if (row.backend !== 'memory') return '';
      const goal = TARGETS.memoryDispatchesPerSec;
      return verdict(row.msgsPerSec >= goal, `${num(row.msgsPerSec)} ≥ ${num(goal)}/s`, pct(1 - row.msgsPerSec / goal));
    }
    case 'memory-per-in-flight': {
      if (!row.bytesPerMessage || !row.payloadBytes) return '';
      const ratio = row.bytesPerMessage / row.payloadBytes;
      return verdict(ratio <= TARGETS.bytesPerInFlightRatio, `${ratio.toFixed(1)}x payload ≤ 2x`, `${(ratio - TARGETS.bytesPerInFlightRatio).toFixed(1)}x`);
    }
    default:
      return '';
  }
}
