import type { EnvelopeInput, Transport } from '@a2a-bus/core';
import { busMessage } from './payload.js';
import { percentile } from './stats.js';
import type { BenchRow } from './types.js';

/** Bounded: a benchmark scenario that has not finished by then fails instead of hanging. */
export const SCENARIO_TIMEOUT_MS = 30_000;

/** Runs `send(i)` for i in [0, count) with at most `window` in flight. */
export async function pipelined(count: number, window: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

/** publishBatch() of `size` 1 KiB messages, `inFlight` batches at once (the batch API beside raw pipelines). */
export async function publishBatches(transport: Transport, topic: string, count: number, size = 500, inFlight = 2): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + size);
        await transport.publishBatch(
          topic,
          Array.from({ length: next - from }, (_, j) => busMessage(from + j)),
        );
      }
    }),
  );
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function deadline<T>(promise: Promise<T>, what: string, ms = SCENARIO_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One-way latency through a2a-bus: publish one message, wait until the handler saw it,
 * repeat. Each envelope carries its send time in a header. Samples are in ms.
 */
export async function measureOneWay(
  consumer: Transport,
  publisher: Transport,
  topic: string,
  count: number,
  make: (i: number, sent: string) => EnvelopeInput,
): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  await consumer.subscribe(
    topic,
    (d) => {
      samples.push(performance.now() - Number(d.envelope.headers?.sent));
      waiting?.();
    },
    { group: 'bench' },
  );
  await publisher.connect();
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const arrived = new Promise<void>((resolve) => (waiting = resolve));
    await publisher.publish(topic, make(i, String(performance.now())));
    await deadline(arrived, 'a2a-bus latency');
  }
  return { samples, seconds: (performance.now() - started) / 1_000 };
}

/** Rounds of a throughput comparison: default 3 (`BENCH_ROUNDS` overrides, e.g. 1 for a smoke run). */
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

/**
 * Unmeasured rounds before the measured ones: default 1 (`BENCH_WARMUP_ROUNDS` overrides).
 * Every scenario, raw and a2a-bus alike, runs once at full size first, so the rows compare
 * optimised code on both sides (a long-lived process runs nothing else). Without it the
 * first measured round of a side caught its JIT half-way: on Redis, a2a-bus's rounds went
 * 17k, 32k, 38k, 41k msg/s and raw ioredis's 24k, 54k, 47k, 57k, so a median of three
 * measured how quickly each side warms up as much as how fast it runs.
 */
export const WARMUP_ROUNDS = Math.max(0, Number(process.env.BENCH_WARMUP_ROUNDS ?? 1));

/**
 * Runs every scenario once per round, alternating their order each round (so drift on a
 * shared machine hits all sides alike), and returns each scenario's median rows (by msg/s,
 * or by p99 for latency rows), their notes naming how many runs they are the median of.
 * A scenario may return several rows (e.g. one-way and round trip from one run). The
 * `warmUp` rounds before them are run the same way and not counted.
 */
export async function alternate(
  runs: readonly (() => Promise<BenchRow | BenchRow[]>)[],
  progress: (line: string) => void,
  rounds = ROUNDS,
  warmUp = WARMUP_ROUNDS,
): Promise<BenchRow[]> {
  const results: BenchRow[][][] = runs.map(() => []);
  for (let round = -warmUp; round < rounds; round += 1) {
    const order = runs.map((_, i) => i);
    if (round % 2 !== 0) order.reverse();
    const label = round < 0 ? `warm-up ${round + warmUp + 1}/${warmUp}` : `round ${round + 1}/${rounds}`;
    for (const i of order) {
      const produced = await runs[i]!();
      const rows = Array.isArray(produced) ? produced : [produced];
      if (round >= 0) results[i]!.push(rows);
      for (const row of rows) progress(`${row.backend} ${row.client} [${row.scenario}] ${label}: ${figure(row)}${round < 0 ? ' (not counted)' : ''}`);
    }
  }
  return results.flatMap((perRound) => perRound[0]!.map((_, j) => median(perRound.map((rows) => rows[j]!))));
}

const byLatency = (row: BenchRow): boolean => row.kind === 'one-way' || row.kind === 'round-trip' || row.kind === 'dispatch';

function figure(row: BenchRow): string {
  return byLatency(row) ? `p50 ${row.p50Ms?.toFixed(2)} ms, p99 ${row.p99Ms?.toFixed(2)} ms` : `${Math.round(row.msgsPerSec).toLocaleString('en-US')} msg/s`;
}

function median(rows: readonly BenchRow[]): BenchRow {
  const sorted = [...rows].sort((a, b) => (byLatency(a) ? (a.p99Ms ?? 0) - (b.p99Ms ?? 0) : a.msgsPerSec - b.msgsPerSec));
  const middle = sorted[Math.floor(sorted.length / 2)]!;
  if (rows.length === 1) return middle;
  const spread = rows.map((r) => (byLatency(r) ? `p99 ${r.p99Ms?.toFixed(2)}` : `${(r.msgsPerSec / 1_000).toFixed(1)}k`)).join(' / ');
  return { ...middle, note: [middle.note, `median of ${rows.length} alternating runs: ${spread}`].filter(Boolean).join('; ') };
}

/** Waits until `check()` holds, polling every 2 ms; fails after `ms`. */
export async function waitUntil(check: () => boolean, what: string, ms = SCENARIO_TIMEOUT_MS): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Sorted samples → a latency row. */
export function latencyRow(
  backend: string,
  client: string,
  scenario: string,
  samples: readonly number[],
  seconds: number,
  note?: string,
  kind: 'one-way' | 'round-trip' = 'one-way',
): BenchRow {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    backend,
    client,
    scenario,
    kind,
    messages: samples.length,
    seconds,
    msgsPerSec: samples.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    ...(note ? { note } : {}),
  };
}
