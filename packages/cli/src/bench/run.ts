import { suite as memorySuite } from './memory.js';
import { targetStatus } from './targets.js';
import type { BenchRow, BenchSuite } from './types.js';

/** Backends, then `idle` and `telemetry` (each backend with OpenTelemetry on beside off). */
const backends = ['memory', 'kafka', 'redis-streams', 'nats', 'idle', 'telemetry'] as const;

const suites: Record<string, () => Promise<{ suite: BenchSuite }>> = {
  kafka: () => import('./kafka.js'),
  'redis-streams': () => import('./redis-streams.js'),
  nats: () => import('./nats.js'),
  idle: () => import('./idle.js'),
  telemetry: () => import('./telemetry.js'),
  /** Not in the default set: `pnpm bench gateway` (the A2A HTTP gateway beside a plain @a2a-js/sdk server). */
  gateway: () => import('./gateway.js'),
  /** Not in the default set: `pnpm bench trust` (dispatches with signed envelopes enforced beside trust off). */
  trust: () => import('./trust.js'),
};

async function loadSuite(backend: string): Promise<BenchSuite | undefined> {
  if (backend === 'memory') return memorySuite;
  return (await suites[backend]?.())?.suite;
}

/** `a2a-bus bench [backends…]`: runs each backend's bounded scenarios and prints one table. */
export async function runBench(args: readonly string[], print: (line: string) => void): Promise<number> {
  const chosen = args.length ? args : backends;
  const rows: BenchRow[] = [];
  let failed = 0;
  for (const backend of chosen) {
    const suite = await loadSuite(backend);
    if (!suite) {
      print(`${backend}: no benchmark`);
      continue;
    }
    try {
      rows.push(...(await suite((line) => print(`  … ${line}`))));
    } catch (error) {
      failed += 1;
      print(`${backend}: benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  print('');
  print(renderTable(rows));
  return failed ? 1 : 0;
}

export function renderTable(rows: readonly BenchRow[]): string {
  const fmt = (n: number | undefined, digits = 2): string => (n === undefined || !Number.isFinite(n) ? '' : n.toFixed(digits));
  const header = ['backend', 'client', 'scenario', 'messages', 'seconds', 'msg/s', 'p50 ms', 'p99 ms', 'other', 'target', 'note'];
  const body = rows.map((r) => {
    const rate = Number.isFinite(r.msgsPerSec) ? Math.round(r.msgsPerSec).toLocaleString('en-US') : '';
    const other =
      r.cpuPercent !== undefined
        ? `${r.cpuPercent.toFixed(2)}% CPU`
        : r.bytesPerMessage !== undefined
          ? `${(r.bytesPerMessage / 1_024).toFixed(1)} KiB/msg`
          : '';
    return [
      r.backend,
      r.client,
      r.scenario,
      String(r.messages),
      fmt(r.seconds),
      rate,
      fmt(r.p50Ms, 3),
      fmt(r.p99Ms, 3),
      other,
      targetStatus(r, rows),
      r.note ?? '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
