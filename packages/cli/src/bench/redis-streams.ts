import { randomUUID } from 'node:crypto';
import type { EnvelopeInput } from '@a2a-bus/core';
import { createRedisStreamsTransport, type RedisStreamsTransport } from '@a2a-bus/redis-streams';
// The raw client: the CLI pins the adapter's ioredis version, so both sides run the very same library.
import { Redis } from 'ioredis';
import { dispatchRoundTrip } from './dispatch.js';
import { deadline, measureOneWay, pipelined } from './harness.js';
import { percentile, type BenchRow, type BenchSuite } from './types.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const THROUGHPUT_MESSAGES = Number(process.env.BENCH_REDIS_MESSAGES ?? 30_000);
const LATENCY_MESSAGES = Number(process.env.BENCH_REDIS_LATENCY_MESSAGES ?? 2_000);
const PARTITIONS = 8;
const ROUNDS = 3;
const WINDOW = 1_000; // publishes in flight at once
const READ_COUNT = 256;
const payloadText = 'x'.repeat(1_024);
const keyPrefix = `a2a-bench-${randomUUID().slice(0, 8)}:`;



function envelope(i: number, headers?: Record<string, string>): EnvelopeInput {
  return {
    kind: 'message',
    key: `wf-${i % 64}`,
    payload: { messageId: `m-${i}`, role: 'ROLE_USER', parts: [{ text: payloadText }] },
    ...(headers ? { headers } : {}),
  } as EnvelopeInput;
}

function rawClient(autoPipelining = false): Redis {
  return new Redis(url, { protocol: 2, enableAutoPipelining: autoPipelining });
}

type ReadReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * The raw ioredis consumer loop, as one would write it by hand: XREADGROUP over all the
 * streams, handle, one XACK per stream per batch. Stops after `count` messages or `stop()`.
 */
function rawConsumer(streams: string[], group: string, onMessage: (fields: string[]) => void, count = Number.POSITIVE_INFINITY) {
  const reader = rawClient();
  const acker = rawClient(true);
  const acks = new Set<Promise<unknown>>();
  let stopped = false;
  let handled = 0;
  const done = (async () => {
    while (!stopped && handled < count) {
      const reply = (await reader.xreadgroup('GROUP', group, 'c', 'COUNT', READ_COUNT, 'BLOCK', 100, 'STREAMS', ...streams, ...streams.map(() => '>'))) as ReadReply;
      for (const [stream, entries] of reply ?? []) {
        for (const [, fields] of entries) onMessage(fields);
        const ack = acker.xack(stream, group, ...entries.map(([id]) => id));
        acks.add(ack);
        void ack.finally(() => acks.delete(ack));
        handled += entries.length;
      }
    }
  })();
  return {
    done,
    async stop(): Promise<void> {
      stopped = true;
      await done.catch(() => undefined);
      await Promise.allSettled([...acks]);
      reader.disconnect();
      await acker.quit().catch(() => undefined);
    },
  };
}

async function rawStreams(client: Redis, name: string, group: string): Promise<string[]> {
  const streams = Array.from({ length: PARTITIONS }, (_, p) => `${keyPrefix}raw-${name}:${p}`);
  for (const stream of streams) await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  return streams;
}

async function rawThroughput(count: number): Promise<BenchRow> {
  const publisher = rawClient(true);
  const streams = await rawStreams(publisher, `tp-${randomUUID().slice(0, 8)}`, 'g');
  try {
    // What a hand-written app does: serialize on publish, parse on receipt.
    const consumer = rawConsumer(streams, 'g', (fields) => JSON.parse(fields[3]!), count);
    const inputs = Array.from({ length: count }, (_, i) => envelope(i));
    const started = performance.now();
    await pipelined(count, WINDOW, (i) => publisher.xadd(streams[i % PARTITIONS]!, '*', 'k', `wf-${i % 64}`, 'v', JSON.stringify(inputs[i])));
    await deadline(consumer.done, 'raw throughput');
    const seconds = (performance.now() - started) / 1_000;
    await consumer.stop();
    return {
      backend: 'redis-streams',
      client: 'raw ioredis',
      scenario: `publish→consume→ack 1 KiB, ${PARTITIONS} streams`,
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `JSON per message, auto-pipelined XADD, XREADGROUP COUNT ${READ_COUNT}, one XACK per batch`,
    };
  } finally {
    await publisher.unlink(...streams).catch(() => undefined);
    publisher.disconnect();
  }
}

function busTransport(partitions = PARTITIONS): RedisStreamsTransport {
  return createRedisStreamsTransport({ url, keyPrefix, partitions, readCount: READ_COUNT });
}

interface Shape {
  readonly partitions: number;
  /** Group members, each on its own transport (its own connections). */
  readonly members: number;
  readonly payloadBytes: number;
}

const standard: Shape = { partitions: PARTITIONS, members: 1, payloadBytes: 1_024 };

async function busThroughput(count: number, shape: Shape = standard): Promise<BenchRow> {
  const topic = `tp-${randomUUID().slice(0, 8)}`;
  const consumers = Array.from({ length: shape.members }, () => busTransport(shape.partitions));
  const publisher = busTransport(shape.partitions);
  const text = 'x'.repeat(shape.payloadBytes);
  try {
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const handler = (): void => {
      if (++handled === count) resolveDone();
    };
    for (const consumer of consumers) await consumer.subscribe(topic, handler, { group: 'bench', maxInFlight: 2_048 });
    const inputs = Array.from({ length: count }, (_, i) => ({ ...envelope(i), payload: { messageId: `m-${i}`, role: 'ROLE_USER', parts: [{ text }] } }) as EnvelopeInput);
    const started = performance.now();
    await pipelined(count, WINDOW, (i) => publisher.publish(topic, inputs[i]!));
    await deadline(done, 'a2a-bus throughput');
    const seconds = (performance.now() - started) / 1_000;
    const size = shape.payloadBytes >= 1_024 ? `${shape.payloadBytes / 1_024} KiB` : `${shape.payloadBytes} B`;
    return {
      backend: 'redis-streams',
      client: 'a2a-bus',
      scenario: `publish→consume→ack ${size}, ${shape.partitions} streams${shape.members > 1 ? `, ${shape.members} members` : ''}`,
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `${shape.partitions} partitions, ${shape.members} member(s), maxInFlight 2048, envelope validated on both sides`,
    };
  } finally {
    await Promise.all(consumers.map((consumer) => consumer.close({ drainTimeoutMs: 1_000 })));
    await publisher.deleteTopic(topic).catch(() => undefined);
    await publisher.close();
  }
}

/** Heap plus buffers, after collecting garbage (backing stores are freed a moment after gc). */
async function settledMemory(): Promise<number> {
  for (let i = 0; i < 3; i += 1) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** Heap held per in-flight message: a handler that never finishes holds `maxInFlight` of them. */
async function busMemoryPerInFlight(): Promise<BenchRow> {
  const maxInFlight = 2_048;
  const topic = `mem-${randomUUID().slice(0, 8)}`;
  const consumer = busTransport();
  const publisher = busTransport();
  try {
    await publisher.connect();
    let started = 0;
    const release: (() => void)[] = [];
    await consumer.subscribe(
      topic,
      () =>
        new Promise<void>((resolve) => {
          started += 1;
          release.push(resolve);
        }),
      { group: 'bench', maxInFlight },
    );
    const before = await settledMemory();
    const began = performance.now();
    for (let i = 0; i < maxInFlight; i += 256) {
      await publisher.publishBatch(topic, Array.from({ length: 256 }, (_, j) => envelope(i + j)));
    }
    // 64 keys → 64 handlers run, the other records wait in their key's lane.
    await deadline(
      (async () => {
        while (started < 64) await new Promise((resolve) => setTimeout(resolve, 10));
        await new Promise((resolve) => setTimeout(resolve, 200));
      })(),
      'filling maxInFlight',
    );
    const perMessage = ((await settledMemory()) - before) / maxInFlight;
    for (const resolve of release) resolve();
    return {
      backend: 'redis-streams',
      client: 'a2a-bus',
      scenario: 'memory per in-flight message, 1 KiB (heap + buffers)',
      messages: maxInFlight,
      seconds: (performance.now() - began) / 1_000,
      msgsPerSec: Number.NaN,
      note: `${(perMessage / 1_024).toFixed(1)} KiB per message held (${globalThis.gc ? 'after gc' : 'no --expose-gc: includes garbage'})`,
    };
  } finally {
    await consumer.close({ drainTimeoutMs: 0 });
    await publisher.deleteTopic(topic).catch(() => undefined);
    await publisher.close();
  }
}

/** One message at a time: publish start → handler start, in ms. */
async function rawLatency(count: number): Promise<BenchRow> {
  const publisher = rawClient();
  const streams = await rawStreams(publisher, `lat-${randomUUID().slice(0, 8)}`, 'g');
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  const consumer = rawConsumer(streams, 'g', (fields) => {
    samples.push(performance.now() - Number(fields[1]));
    waiting?.();
  });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      const sent = performance.now();
      await publisher.xadd(streams[i % PARTITIONS]!, '*', 't', String(sent), 'v', payloadText);
      await deadline(arrived, 'raw latency');
    }
    return latencyRow('raw ioredis', 'one-way publish→handler, one at a time, 1 KiB', samples, (performance.now() - started) / 1_000);
  } finally {
    await consumer.stop();
    await publisher.unlink(...streams).catch(() => undefined);
    publisher.disconnect();
  }
}

async function busLatency(count: number): Promise<BenchRow> {
  const topic = `lat-${randomUUID().slice(0, 8)}`;
  const consumer = busTransport();
  const publisher = busTransport();
  try {
    const { samples, seconds } = await measureOneWay(consumer, publisher, topic, count, (i, sent) => envelope(i, { sent }));
    return latencyRow('a2a-bus', 'one-way publish→handler, one at a time, 1 KiB', samples, seconds);
  } finally {
    await consumer.close({ drainTimeoutMs: 1_000 });
    await publisher.deleteTopic(topic).catch(() => undefined);
    await publisher.close();
  }
}

/** Request → responder → reply → requester, one at a time: the dispatch round trip. */
async function rawRoundTrip(count: number): Promise<BenchRow> {
  const client = rawClient();
  const name = `rt-${randomUUID().slice(0, 8)}`;
  const requests = await rawStreams(client, `${name}-req`, 'g');
  const replies = await rawStreams(client, `${name}-rep`, 'g');
  const responder = rawClient(true);
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  const serve = rawConsumer(requests, 'g', (fields) => {
    void responder.xadd(replies[0]!, '*', 't', fields[1]!, 'v', payloadText);
  });
  const listen = rawConsumer(replies, 'g', (fields) => {
    samples.push(performance.now() - Number(fields[1]));
    waiting?.();
  });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      await client.xadd(requests[i % PARTITIONS]!, '*', 't', String(performance.now()), 'v', payloadText);
      await deadline(arrived, 'raw round trip');
    }
    return latencyRow('raw ioredis', 'round trip request→reply, one at a time, 1 KiB', samples, (performance.now() - started) / 1_000);
  } finally {
    await Promise.all([serve.stop(), listen.stop()]);
    await client.unlink(...requests, ...replies).catch(() => undefined);
    client.disconnect();
    responder.disconnect();
  }
}

async function busRoundTrip(count: number): Promise<BenchRow> {
  const name = `rt-${randomUUID().slice(0, 8)}`;
  const requester = busTransport();
  const responder = busTransport();
  try {
    const samples: number[] = [];
    let waiting: (() => void) | undefined;
    await responder.subscribe(
      `${name}.req`,
      async (d) => {
        await responder.publish(`${name}.rep`, envelope(0, { sent: d.envelope.headers?.sent ?? '0' }));
      },
      { group: 'responders' },
    );
    await requester.subscribe(
      `${name}.rep`,
      (d) => {
        samples.push(performance.now() - Number(d.envelope.headers?.sent));
        waiting?.();
      },
      { group: 'requester' },
    );
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      await requester.publish(`${name}.req`, envelope(i, { sent: String(performance.now()) }));
      await deadline(arrived, 'a2a-bus round trip');
    }
    return latencyRow('a2a-bus', 'round trip request→reply, one at a time, 1 KiB', samples, (performance.now() - started) / 1_000);
  } finally {
    await Promise.all([requester.close({ drainTimeoutMs: 1_000 }), responder.close({ drainTimeoutMs: 1_000 })]);
    const admin = busTransport();
    await Promise.all([admin.deleteTopic(`${name}.req`), admin.deleteTopic(`${name}.rep`)]).catch(() => undefined);
    await admin.close();
  }
}

function median(rows: BenchRow[]): BenchRow {
  return [...rows].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor(rows.length / 2)]!;
}

function latencyRow(client: string, scenario: string, samples: number[], seconds: number): BenchRow {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    backend: 'redis-streams',
    client,
    scenario,
    messages: samples.length,
    seconds,
    msgsPerSec: samples.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

export const suite: BenchSuite = async (progress) => {
  const rows: BenchRow[] = [];
  // Warm both paths (connections, JIT) before measuring.
  await rawThroughput(2_000);
  await busThroughput(2_000);
  // The machine is shared and noisy: alternate raw and a2a-bus runs and keep each one's median.
  const runs: { raw: BenchRow[]; bus: BenchRow[] } = { raw: [], bus: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.raw.push(await rawThroughput(THROUGHPUT_MESSAGES));
    runs.bus.push(await busThroughput(THROUGHPUT_MESSAGES));
    progress(`redis-streams throughput round ${round + 1}/${ROUNDS}: raw ${Math.round(runs.raw[round]!.msgsPerSec)}, a2a-bus ${Math.round(runs.bus[round]!.msgsPerSec)} msg/s`);
  }
  for (const row of [median(runs.raw), median(runs.bus)]) rows.push({ ...row, note: `${row.note}; median of ${ROUNDS} alternating runs` });
  // How a2a-bus scales with partitions, members and payload size (same broker, same run).
  const scaled = Math.round(THROUGHPUT_MESSAGES * 2 / 3);
  for (const shape of [
    { ...standard, partitions: 1 },
    { ...standard, partitions: 32 },
    { ...standard, members: 2 },
    { ...standard, payloadBytes: 256 },
    { ...standard, payloadBytes: 16 * 1_024 },
  ]) {
    const row = await busThroughput(shape.payloadBytes > 4_096 ? Math.round(scaled / 4) : scaled, shape);
    progress(`redis-streams a2a-bus ${row.scenario}: ${Math.round(row.msgsPerSec)} msg/s`);
    rows.push(row);
  }
  const memory = await busMemoryPerInFlight();
  progress(`redis-streams a2a-bus ${memory.note}`);
  rows.push(memory);
  for (const run of [
    () => rawLatency(LATENCY_MESSAGES),
    () => busLatency(LATENCY_MESSAGES),
    () => rawRoundTrip(LATENCY_MESSAGES),
    () => busRoundTrip(LATENCY_MESSAGES),
  ]) {
    const row = await run();
    progress(`redis-streams ${row.client} ${row.scenario}: p50 ${row.p50Ms?.toFixed(2)} ms, p99 ${row.p99Ms?.toFixed(2)} ms`);
    rows.push(row);
  }
  rows.push(...(await dispatchRoundTrip('redis-streams', () => createRedisStreamsTransport({ url, keyPrefix }), progress, LATENCY_MESSAGES)));
  return rows;
};
