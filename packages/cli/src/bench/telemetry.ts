import { randomUUID } from 'node:crypto';
import { createTransport, type EnvelopeInput, type Instrumentation, type Transport } from '@a2a-bus/core';
import { createBusTelemetry } from '@a2a-bus/opentelemetry';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { dispatchRoundTrip } from './dispatch.js';
import { deadline, pipelined } from './harness.js';
import type { BenchRow, BenchSuite } from './types.js';

/**
 * The cost of OpenTelemetry: the same scenarios with tracing + metrics on (in-memory
 * exporters, every span kept) and off, on each backend. Rows come in pairs; the note of the
 * "+ otel" row gives its throughput relative to the row without.
 */
const allTargets = [
  { backend: 'memory', url: 'memory://bench-otel', overrides: { partitions: 4 }, messages: 50_000, dispatches: 5_000 },
  { backend: 'redis-streams', url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', overrides: { partitions: 4 }, messages: 20_000, dispatches: 2_000 },
  { backend: 'nats', url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', overrides: { partitions: 4 }, messages: 5_000, dispatches: 1_000 },
  {
    backend: 'kafka',
    url: `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`,
    overrides: { partitions: 4, maxWaitTimeMs: 20 },
    messages: 10_000,
    dispatches: 1_000,
  },
];
const targets = process.env.OTEL_BENCH_ONLY ? allTargets.filter((t) => t.backend === process.env.OTEL_BENCH_ONLY) : allTargets;
const WINDOW = 256;
const payload = 'x'.repeat(1024);

function message(i: number): EnvelopeInput {
  return { kind: 'message', key: `key-${i % 64}`, payload: { messageId: `m${i}`, role: 'ROLE_USER', parts: [{ text: payload }] } };
}

type Mode = 'off' | 'on' | 'sampled';

const modeLabels: Record<Mode, string> = { off: 'a2a-bus', on: 'a2a-bus + otel', sampled: 'a2a-bus + otel 10%' };

/**
 * A transport factory with telemetry off, on (every span kept), or on with 10% of traces
 * sampled (ParentBased(TraceIdRatio 0.1), a common production setting); the SDK pipeline is
 * the one production uses (BatchSpanProcessor) with in-memory exporters.
 */
function factory(target: string, overrides: Record<string, unknown>, mode: Mode): () => Promise<Transport> {
  // A memory log of its own per run: nothing of an earlier run (timers, groups) is in the way.
  const url = target.startsWith('memory://') ? `${target}-${randomUUID().slice(0, 8)}` : target;
  if (mode === 'off') return () => createTransport(url, overrides);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter })],
    ...(mode === 'sampled' ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) } : {}),
  });
  setInterval(() => exporter.reset(), 1_000).unref(); // as if shipped: spans do not pile up in this process
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 1_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = createBusTelemetry({ tracerProvider, meterProvider });
  return async () => telemetry.instrument(await createTransport(url, { ...overrides, instrumentation: telemetry.instrumentation as Instrumentation }));
}

/** publish (pipelined, 256 in flight) → handle → ack of `count` 1 KiB messages over 64 keys. */
async function throughput(open: () => Promise<Transport>, count: number): Promise<number> {
  const transport = await open();
  const topic = `bench-otel-${randomUUID().slice(0, 8)}`;
  try {
    let handled = 0;
    let finished = (): void => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    await transport.subscribe(
      topic,
      () => {
        handled += 1;
        if (handled === count) finished();
      },
      { group: 'bench', maxInFlight: 1_024 },
    );
    const started = performance.now();
    await pipelined(count, WINDOW, (i) => transport.publish(topic, message(i)));
    await deadline(done, 'telemetry throughput', 120_000);
    return (performance.now() - started) / 1_000;
  } finally {
    await (transport as Transport & { deleteTopic?(topic: string): Promise<void> }).deleteTopic?.(topic).catch(() => undefined);
    await transport.close({ drainTimeoutMs: 1_000 });
  }
}

export const suite: BenchSuite = async (progress) => {
  const rows: BenchRow[] = [];
  const modes: Mode[] = process.env.OTEL_BENCH_MODES ? (process.env.OTEL_BENCH_MODES.split(',') as Mode[]) : ['off', 'on', 'sampled'];
  for (const target of targets) {
    const scenario = `publish→handle→ack 1 KiB, ${WINDOW} in flight (telemetry comparison)`;
    const best: Record<Mode, number> = { off: Number.POSITIVE_INFINITY, on: Number.POSITIVE_INFINITY, sampled: Number.POSITIVE_INFINITY };
    try {
      // Two rounds each, alternating, best of two: the machine is shared and noisy.
      for (let round = 0; round < 2; round += 1) {
        for (const mode of modes) {
          progress(`${target.backend}: throughput, telemetry ${mode} (round ${round + 1})…`);
          best[mode] = Math.min(best[mode], await throughput(factory(target.url, target.overrides, mode), target.messages));
        }
      }
    } catch (error) {
      progress(`${target.backend}: skipped (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    const off = target.messages / best.off;
    for (const mode of modes) {
      const rate = target.messages / best[mode];
      const note = mode === 'off' ? 'telemetry off' : `${((rate / off) * 100).toFixed(0)}% of off's throughput (target ≥ 90%)`;
      rows.push({
        backend: target.backend,
        client: modeLabels[mode],
        scenario,
        kind: 'info',
        messages: target.messages,
        seconds: best[mode],
        msgsPerSec: rate,
        note,
      });
    }
    for (const mode of modes) {
      try {
        const dispatched = await dispatchRoundTrip(target.backend, factory(target.url, target.overrides, mode), progress, target.dispatches);
        for (const row of dispatched) rows.push({ ...row, client: modeLabels[mode], kind: 'info', scenario: `${row.scenario} (telemetry comparison)` });
      } catch (error) {
        // One failed run costs its rows, not the rest of the table.
        progress(`${target.backend}: dispatch with telemetry ${mode} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return rows;
};
