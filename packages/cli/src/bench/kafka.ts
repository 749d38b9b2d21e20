import { dispatchRoundTrip } from './dispatch.js';
import { randomUUID } from 'node:crypto';
import type { EnvelopeInput, Transport } from '@a2a-bus/core';
import { createKafkaTransport, type KafkaTransport } from '@a2a-bus/kafka';
import * as kafkajs from 'kafkajs';
import { percentile, type BenchRow, type BenchSuite } from './types.js';

/**
 * Raw kafkajs and a2a-bus side by side on one broker in one run. kafkajs comes from the
 * adapter (`@a2a-bus/kafka/raw`), so both sides use the very same client library and settings
 * (idempotent producer, acks=all, 4 partitions, 1 KiB values).
 */
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const partitions = 4;
const throughputMessages = Number(process.env.KAFKA_BENCH_MESSAGES ?? 40_000);
const latencyRounds = Number(process.env.KAFKA_BENCH_ROUNDS ?? 1_000);
const chunk = 500;
const payload = 'x'.repeat(1024);
const maxWaitTimeMs = 100;
const throughputScenario = `publish→consume→ack 1 KiB, ${partitions} partitions, batches of ${chunk}`;

type KafkaJs = typeof kafkajs;

export const suite: BenchSuite = async (progress) => {
  const admin = createKafkaTransport({ brokers, partitions });
  const rows: BenchRow[] = [];
  const topics: string[] = [];
  const topic = (name: string): string => {
    const created = `bench-${name}-${randomUUID().slice(0, 8)}`;
    topics.push(created);
    return created;
  };
  try {
    await admin.connect();
    rows.push(await rawThroughput(kafkajs, topic('raw-tp'), admin, progress));
    rows.push(await busThroughput(topic('bus-tp'), progress));
    rows.push(await busThroughputSingle(topic('bus-tp1'), progress));
    rows.push(...(await rawLatency(kafkajs, topic('raw-req'), topic('raw-rep'), admin, progress)));
    rows.push(...(await busLatency(topic('bus-req'), topic('bus-rep'), progress)));
    rows.push(...(await dispatchRoundTrip('kafka', () => createKafkaTransport({ brokers, partitions, maxWaitTimeMs: 20 }), progress, 500)));
  } finally {
    await Promise.allSettled(topics.map((name) => admin.deleteTopic(name)));
    await admin.close();
  }
  return rows;
};

function message(key: string, text: string): EnvelopeInput {
  return { kind: 'message', key, payload: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] } } as EnvelopeInput;
}

/** A 1 KiB envelope as a2a-bus writes it, for the raw client to send the same bytes. */
function rawValue(i: number): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, id: randomUUID(), key: `k${i % 64}`, kind: 'message', payload: { text: payload } }));
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function row(client: string, scenario: string, messages: number, ms: number, extra: Partial<BenchRow> = {}): BenchRow {
  const seconds = ms / 1000;
  return { backend: 'kafka', client, scenario, messages, seconds: Number(seconds.toFixed(3)), msgsPerSec: Math.round(messages / seconds), ...extra };
}

async function rawThroughput(kafkajs: KafkaJs, name: string, admin: KafkaTransport, progress: (line: string) => void): Promise<BenchRow> {
  progress(`kafka: raw kafkajs publish→consume ${throughputMessages} × 1 KiB`);
  await (await admin.admin()).createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true });
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: maxWaitTimeMs });
  await Promise.all([producer.connect(), consumer.connect()]);
  let consumed = 0;
  await consumer.subscribe({ topic: name, fromBeginning: true });
  let joined!: () => void;
  const join = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (m.value) consumed += 1;
    },
  });
  await join;
  const started = performance.now();
  for (let i = 0; i < throughputMessages; i += chunk) {
    const messages = Array.from({ length: Math.min(chunk, throughputMessages - i) }, (_, j) => ({ key: `k${(i + j) % 64}`, value: rawValue(i + j) }));
    await producer.send({ topic: name, acks: -1, messages });
  }
  await waitUntil(() => consumed >= throughputMessages, 60_000, 'raw consumer');
  const ms = performance.now() - started;
  await consumer.disconnect();
  await producer.disconnect();
  return row('raw kafkajs', throughputScenario, throughputMessages, ms);
}

async function busThroughput(name: string, progress: (line: string) => void): Promise<BenchRow> {
  progress(`kafka: a2a-bus publishBatch→handle→ack ${throughputMessages} × 1 KiB`);
  const bus = createKafkaTransport({ brokers, partitions, maxWaitTimeMs });
  let handled = 0;
  try {
    await bus.subscribe(name, () => void (handled += 1), { group: 'bench', maxInFlight: 1024 });
    const started = performance.now();
    for (let i = 0; i < throughputMessages; i += chunk) {
      await bus.publishBatch(name, Array.from({ length: Math.min(chunk, throughputMessages - i) }, (_, j) => message(`k${(i + j) % 64}`, payload)));
    }
    await waitUntil(() => handled >= throughputMessages, 60_000, 'a2a-bus handler');
    return row('a2a-bus', throughputScenario, throughputMessages, performance.now() - started);
  } finally {
    await bus.close();
  }
}

async function busThroughputSingle(name: string, progress: (line: string) => void): Promise<BenchRow> {
  progress(`kafka: a2a-bus publish (one by one, concurrent)→handle→ack ${throughputMessages} × 1 KiB`);
  const bus = createKafkaTransport({ brokers, partitions, maxWaitTimeMs });
  let handled = 0;
  try {
    await bus.subscribe(name, () => void (handled += 1), { group: 'bench', maxInFlight: 1024 });
    const started = performance.now();
    const window = 2_000;
    for (let i = 0; i < throughputMessages; i += window) {
      await Promise.all(Array.from({ length: Math.min(window, throughputMessages - i) }, (_, j) => bus.publish(name, message(`k${(i + j) % 64}`, payload))));
    }
    await waitUntil(() => handled >= throughputMessages, 60_000, 'a2a-bus handler');
    return row('a2a-bus', `publish() ×${window} concurrent (coalesced)→handle→ack 1 KiB`, throughputMessages, performance.now() - started);
  } finally {
    await bus.close();
  }
}

/** Request on one topic, reply on another, one at a time: a dispatch round trip is two hops. */
async function rawLatency(kafkajs: KafkaJs, requests: string, replies: string, admin: KafkaTransport, progress: (line: string) => void): Promise<BenchRow[]> {
  progress(`kafka: raw kafkajs round trip × ${latencyRounds}`);
  const client = await admin.admin();
  await client.createTopics({ topics: [requests, replies].map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const server = kafka.consumer({ groupId: `bench-raw-srv-${randomUUID()}`, maxWaitTimeInMs: maxWaitTimeMs });
  const caller = kafka.consumer({ groupId: `bench-raw-cli-${randomUUID()}`, maxWaitTimeInMs: maxWaitTimeMs });
  await Promise.all([producer.connect(), server.connect(), caller.connect()]);
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let sentAt = 0;
  let replied: (() => void) | undefined;
  const joins = [server, caller].map((consumer) => new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve())));
  await server.subscribe({ topic: requests, fromBeginning: true });
  await caller.subscribe({ topic: replies, fromBeginning: true });
  await server.run({
    partitionsConsumedConcurrently: partitions,
    eachMessage: async ({ message: m }) => {
      oneWay.push(performance.now() - sentAt);
      await producer.send({ topic: replies, acks: -1, messages: [{ key: m.key, value: m.value }] });
    },
  });
  await caller.run({ partitionsConsumedConcurrently: partitions, eachMessage: async () => replied?.() });
  await Promise.all(joins);
  try {
    for (let i = 0; i < latencyRounds; i += 1) {
      const done = new Promise<void>((resolve) => (replied = resolve));
      sentAt = performance.now();
      await producer.send({ topic: requests, acks: -1, messages: [{ key: `k${i % 16}`, value: rawValue(i) }] });
      await done;
      roundTrip.push(performance.now() - sentAt);
    }
  } finally {
    await Promise.all([server.disconnect(), caller.disconnect()]);
    await producer.disconnect();
  }
  return latencyRows('raw kafkajs', oneWay, roundTrip);
}

async function busLatency(requests: string, replies: string, progress: (line: string) => void): Promise<BenchRow[]> {
  progress(`kafka: a2a-bus round trip × ${latencyRounds}`);
  const bus: Transport = createKafkaTransport({ brokers, partitions, maxWaitTimeMs });
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let sentAt = 0;
  let replied: (() => void) | undefined;
  try {
    await bus.subscribe(
      requests,
      async (d) => {
        oneWay.push(performance.now() - sentAt);
        await bus.publish(replies, message(d.envelope.key, 'reply'));
      },
      { group: 'srv' },
    );
    await bus.subscribe(replies, () => replied?.(), { group: 'cli' });
    for (let i = 0; i < latencyRounds; i += 1) {
      const done = new Promise<void>((resolve) => (replied = resolve));
      sentAt = performance.now();
      await bus.publish(requests, message(`k${i % 16}`, payload));
      await done;
      roundTrip.push(performance.now() - sentAt);
    }
  } finally {
    await bus.close();
  }
  return latencyRows('a2a-bus', oneWay, roundTrip);
}

function latencyRows(client: string, oneWay: number[], roundTrip: number[]): BenchRow[] {
  const sortedOneWay = [...oneWay].sort((a, b) => a - b);
  const sortedRound = [...roundTrip].sort((a, b) => a - b);
  const total = roundTrip.reduce((sum, ms) => sum + ms, 0);
  const fixed = (ms: number): number => Number(ms.toFixed(2));
  return [
    row(client, 'one-way publish→handler 1 KiB (sequential)', oneWay.length, total, { p50Ms: fixed(percentile(sortedOneWay, 50)), p99Ms: fixed(percentile(sortedOneWay, 99)) }),
    row(client, 'round trip request→reply (sequential)', roundTrip.length, total, { p50Ms: fixed(percentile(sortedRound, 50)), p99Ms: fixed(percentile(sortedRound, 99)) }),
  ];
}
