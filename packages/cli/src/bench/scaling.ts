import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryPerInFlight } from './in-flight-memory.js';
import { busMessage, sizeLabel } from './payload.js';
import { scalingTransport } from './scaling-transport.js';
import { percentile } from './stats.js';

/**
 * `pnpm bench --scaling [backend]`: throughput and publish→handler p99 as one parameter
 * varies from a base point (1 worker process, 8 partitions, 1 KiB, 64 keys, maxInFlight 256);
 * consumers are separate OS processes in one group; the publisher is this process, with
 * 1,000 publishes in flight. p99 is under full load, so it includes queueing behind that window.
 */
export interface ScalingPoint {
  readonly dimension: 'workers' | 'partitions' | 'payload' | 'keys' | 'maxInFlight';
  readonly value: number;
  readonly label: string;
  readonly messages: number;
  readonly msgsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly note?: string;
}

interface Shape {
  workers: number;
  partitions: number;
  payloadBytes: number;
  keys: number;
  maxInFlight: number;
}

const base: Shape = { workers: 1, partitions: 8, payloadBytes: 1_024, keys: 64, maxInFlight: 256 };
const MESSAGES = Number(process.env.BENCH_SCALING_MESSAGES ?? 10_000);
/** Bytes published per point at most, so 256 KiB payloads stay bounded. */
const BYTES_BUDGET = 48 * 1_024 * 1_024;
const WINDOW = 1_000;
const POINT_TIMEOUT_MS = Number(process.env.BENCH_SCALING_POINT_TIMEOUT_MS ?? 20_000);
const SETTLE_MS = Number(process.env.BENCH_SCALING_SETTLE_MS ?? 4_000);

const sweep: { dimension: ScalingPoint['dimension']; values: number[]; apply: (value: number) => Partial<Shape> }[] = [
  { dimension: 'workers', values: [1, 2, 4], apply: (workers) => ({ workers }) },
  { dimension: 'partitions', values: [1, 8, 32], apply: (partitions) => ({ partitions }) },
  { dimension: 'payload', values: [256, 1_024, 16_384, 262_144], apply: (payloadBytes) => ({ payloadBytes }) },
  { dimension: 'keys', values: [1, 64, 10_000], apply: (keys) => ({ keys }) },
  { dimension: 'maxInFlight', values: [1, 16, 256, 2_048], apply: (maxInFlight) => ({ maxInFlight }) },
];

const workerPath = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './scaling-worker.ts' : './scaling-worker.js', import.meta.url));

function startWorker(config: object): { child: ChildProcess; handled: () => number; ready: Promise<void>; report: () => Promise<number[]> } {
  const child = fork(workerPath, [JSON.stringify(config)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let handled = 0;
  let onReport: ((samples: number[]) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`scaling worker exited with ${code}`)));
    child.on('message', (message: { ready?: boolean; handled?: number; samples?: number[] }) => {
      if (message.ready) resolve();
      if (message.handled !== undefined) handled = message.handled;
      if (message.samples) onReport?.(message.samples);
    });
  });
  return {
    child,
    handled: () => handled,
    ready,
    report: () =>
      new Promise<number[]>((resolve) => {
        onReport = resolve;
        child.send({ type: 'report' });
      }),
  };
}

async function runPoint(backend: string, shape: Shape): Promise<{ messages: number; msgsPerSec: number; p50Ms: number; p99Ms: number; note?: string }> {
  const namespace = randomUUID().slice(0, 8);
  const topic = `scale-${namespace}`;
  const messages = Math.max(200, Math.min(MESSAGES, Math.floor(BYTES_BUDGET / shape.payloadBytes)));
  const publisher = await scalingTransport(backend, shape.partitions, namespace);
  const workers = Array.from({ length: shape.workers }, () =>
    startWorker({ backend, partitions: shape.partitions, namespace, topic, maxInFlight: shape.maxInFlight }),
  );
  try {
    await publisher.connect();
    await Promise.all(workers.map((w) => w.ready));
    await new Promise((resolve) => setTimeout(resolve, shape.workers > 1 ? SETTLE_MS : 500));
    const inputs = Array.from({ length: shape.keys }, (_, k) => k);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WINDOW }, async () => {
        while (next < messages) {
          const i = next++;
          await publisher.publish(
            topic,
            busMessage(inputs[i % shape.keys]!, shape.keys, shape.payloadBytes, { sent: String(performance.timeOrigin + performance.now()) }),
          );
        }
      }),
    );
    const end = performance.now() + POINT_TIMEOUT_MS;
    const total = (): number => workers.reduce((sum, w) => sum + w.handled(), 0);
    while (total() < messages && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = (performance.now() - started) / 1_000;
    const handled = Math.min(messages, total());
    const samples = (await Promise.all(workers.map((w) => w.report()))).flat().sort((a, b) => a - b);
    return {
      messages: handled,
      msgsPerSec: handled / seconds,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      ...(handled < messages ? { note: `stopped after ${POINT_TIMEOUT_MS / 1_000} s: ${handled} of ${messages} handled` } : {}),
    };
  } finally {
    for (const w of workers) w.child.connected && w.child.send({ type: 'stop' });
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.child.exitCode !== null ? resolve(undefined) : w.child.once('exit', resolve)))));
    await publisher.deleteTopic?.(topic).catch(() => undefined);
    await publisher.close();
  }
}

function label(dimension: ScalingPoint['dimension'], value: number): string {
  if (dimension === 'payload') return sizeLabel(value);
  const unit = {
    workers: value === 1 ? 'worker' : 'workers',
    partitions: value === 1 ? 'partition' : 'partitions',
    keys: value === 1 ? 'key' : 'keys',
    maxInFlight: 'in flight',
  }[dimension];
  return `${value.toLocaleString('en-US')} ${unit}`;
}

export async function runScaling(backend: string, print: (line: string) => void): Promise<number> {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`;
  print(`scaling on ${backend}: ${machine}, load average ${loadavg()[0]!.toFixed(1)}`);
  const points: ScalingPoint[] = [];
  const only = process.env.BENCH_SCALING_ONLY?.split(',');
  for (const { dimension, values, apply } of sweep.filter((s) => !only || only.includes(s.dimension))) {
    for (const value of values) {
      const shape = { ...base, ...apply(value) };
      const result = await runPoint(backend, shape).catch((error: unknown) => {
        print(`  … ${dimension} ${label(dimension, value)}: failed: ${error instanceof Error ? error.message : String(error)}`);
        return { messages: 0, msgsPerSec: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN };
      });
      const point: ScalingPoint = { dimension, value, label: label(dimension, value), ...result };
      print(
        `  … ${point.label}: ${Math.round(point.msgsPerSec).toLocaleString('en-US')} msg/s, p99 ${point.p99Ms.toFixed(1)} ms${point.note ? ` (${point.note})` : ''}`,
      );
      points.push(point);
    }
  }
  const memory = [];
  for (const payloadBytes of [1_024, 16_384]) {
    const namespace = randomUUID().slice(0, 8);
    const row = await memoryPerInFlight(backend, () => scalingTransport(backend, 8, namespace), payloadBytes, 1_024);
    print(`  … memory per in-flight message, ${sizeLabel(payloadBytes)}: ${Math.round(row.bytesPerMessage!)} bytes`);
    memory.push(row);
  }
  const table = renderScalingTable(
    backend,
    machine,
    points,
    memory.map((r) => ({ payload: sizeLabel(r.payloadBytes!), bytes: r.bytesPerMessage! })),
  );
  print('');
  print(table);
  await mkdir('reports', { recursive: true });
  const stem = join('reports', `scaling-${backend}`);
  await writeFile(`${stem}.md`, `${table}\n`);
  await writeFile(`${stem}.json`, `${JSON.stringify({ backend, machine, load: loadavg(), base, points, memory }, null, 2)}\n`);
  const chart = await import('./scaling-chart.js')
    .then((m) => m.renderScalingChart(backend, machine, points))
    .catch((error: unknown) => {
      print(`chart not drawn: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
  if (chart) await writeFile(`${stem}.png`, chart);
  print(`wrote ${stem}.md, ${stem}.json${chart ? `, ${stem}.png` : ''}`);
  return 0;
}

function renderScalingTable(backend: string, machine: string, points: readonly ScalingPoint[], memory: readonly { payload: string; bytes: number }[]): string {
  const lines = [
    `Scaling on ${backend} (${machine}). Base: 1 worker process, 8 partitions, 1 KiB, 64 keys, maxInFlight 256; one parameter varies per row.`,
    '',
    '| varies | value | messages | msg/s | p50 ms | p99 ms | note |',
    '|---|---|---|---|---|---|---|',
    ...points.map(
      (p) =>
        `| ${p.dimension} | ${p.label} | ${p.messages} | ${Math.round(p.msgsPerSec).toLocaleString('en-US')} | ${p.p50Ms.toFixed(1)} | ${p.p99Ms.toFixed(1)} | ${p.note ?? ''} |`,
    ),
    '',
    '| memory per in-flight message | bytes held | × payload |',
    '|---|---|---|',
    ...memory.map((m) => `| ${m.payload} | ${Math.round(m.bytes).toLocaleString('en-US')} | ${(m.bytes / parseSize(m.payload)).toFixed(2)} |`),
  ];
  return lines.join('\n');
}

function parseSize(label: string): number {
  const [n, unit] = label.split(' ');
  return Number(n) * (unit === 'KiB' ? 1_024 : 1);
}
