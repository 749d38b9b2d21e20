import { randomUUID } from 'node:crypto';
import * as kafkajs from 'kafkajs';
import { latencyRow, waitUntil } from './harness.js';
import { rawJson } from './payload.js';
import type { BenchRow } from './types.js';

/**
 * Raw kafkajs rows: the best this client does idiomatically for the same job. Producer:
 * batches of `chunk` messages per send(), acks=-1; consumer: eachMessage or eachBatch with
 * partitionsConsumedConcurrently = partitions, offsets committed per batch (kafkajs default).
 */
export interface KafkaBenchContext {
  readonly brokers: string[];
  readonly partitions: number;
  readonly chunk: number;
  readonly maxWaitTimeMs: number;
  /** Creates a topic with `partitions` partitions and remembers it for deletion. */
  topic(name: string): Promise<string>;
}

export interface KafkajsVariant {
  /** eachMessage or eachBatch. */
  readonly loop: 'eachMessage' | 'eachBatch';
  /** Sends in flight at once; > 1 means a non-idempotent producer (kafkajs allows idempotence with one only). */
  readonly sendsInFlight: number;
}

export const kafkajsVariants: readonly KafkajsVariant[] = [
  { loop: 'eachMessage', sendsInFlight: 1 },
  { loop: 'eachBatch', sendsInFlight: 4 },
];

function describe(ctx: KafkaBenchContext, v: KafkajsVariant): string {
  const producer = v.sendsInFlight === 1 ? 'idempotent producer, 1 send in flight' : `${v.sendsInFlight} sends in flight (not idempotent)`;
  return `${ctx.partitions} partitions, send() of ${ctx.chunk}, acks=-1, ${producer}; ${v.loop}, partitionsConsumedConcurrently ${ctx.partitions}, maxWaitTimeInMs ${ctx.maxWaitTimeMs}, commit per batch; JSON.stringify/parse`;
}

export async function kafkajsThroughput(ctx: KafkaBenchContext, count: number, variant: KafkajsVariant): Promise<BenchRow> {
  const topic = await ctx.topic('kjs-tp');
  const kafka = new kafkajs.Kafka({ brokers: ctx.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const idempotent = variant.sendsInFlight === 1;
  const producer = kafka.producer({
    idempotent,
    maxInFlightRequests: idempotent ? 1 : variant.sendsInFlight,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `bench-raw-${randomUUID()}`, maxWaitTimeInMs: ctx.maxWaitTimeMs });
  await Promise.all([producer.connect(), consumer.connect()]);
  try {
    let consumed = 0;
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run(
      variant.loop === 'eachMessage'
        ? {
            partitionsConsumedConcurrently: ctx.partitions,
            eachMessage: async ({ message }) => {
              if (JSON.parse(message.value!.toString()).messageId) consumed += 1;
            },
          }
        : {
            partitionsConsumedConcurrently: ctx.partitions,
            eachBatch: async ({ batch }) => {
              for (const message of batch.messages) if (JSON.parse(message.value!.toString()).messageId) consumed += 1;
            },
          },
    );
    await joined;
    const started = performance.now();
    const batches: { key: string; value: string }[][] = [];
    for (let i = 0; i < count; i += ctx.chunk) {
      batches.push(Array.from({ length: Math.min(ctx.chunk, count - i) }, (_, j) => ({ key: `wf-${(i + j) % 64}`, value: rawJson(i + j) })));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: variant.sendsInFlight }, async () => {
        while (next < batches.length) await producer.send({ topic, acks: -1, messages: batches[next++]! });
      }),
    );
    await waitUntil(() => consumed >= count, 'raw kafkajs consumer');
    const seconds = (performance.now() - started) / 1_000;
    return {
      backend: 'kafka',
      client: 'raw kafkajs',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: describe(ctx, variant),
    };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

/** Request on one topic, reply on another, one at a time: one-way and round-trip rows. */
export async function kafkajsLatency(ctx: KafkaBenchContext, rounds: number): Promise<BenchRow[]> {
  const [requests, replies] = await Promise.all([ctx.topic('kjs-req'), ctx.topic('kjs-rep')]);
  const kafka = new kafkajs.Kafka({ brokers: ctx.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const server = kafka.consumer({ groupId: `bench-raw-srv-${randomUUID()}`, maxWaitTimeInMs: ctx.maxWaitTimeMs });
  const caller = kafka.consumer({ groupId: `bench-raw-cli-${randomUUID()}`, maxWaitTimeInMs: ctx.maxWaitTimeMs });
  await Promise.all([producer.connect(), server.connect(), caller.connect()]);
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let sentAt = 0;
  let replied: (() => void) | undefined;
  try {
    const joins = [server, caller].map((consumer) => new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve())));
    await server.subscribe({ topic: requests, fromBeginning: true });
    await caller.subscribe({ topic: replies, fromBeginning: true });
    await server.run({
      partitionsConsumedConcurrently: ctx.partitions,
      eachMessage: async ({ message }) => {
        const request = JSON.parse(message.value!.toString()) as { messageId: string };
        oneWay.push(performance.now() - sentAt);
        await producer.send({
          topic: replies,
          acks: -1,
          messages: [{ key: message.key, value: JSON.stringify({ messageId: request.messageId, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] }) }],
        });
      },
    });
    await caller.run({
      partitionsConsumedConcurrently: ctx.partitions,
      eachMessage: async ({ message }) => {
        JSON.parse(message.value!.toString());
        replied?.();
      },
    });
    await Promise.all(joins);
    const started = performance.now();
    for (let i = 0; i < rounds; i += 1) {
      const done = new Promise<void>((resolve) => (replied = resolve));
      sentAt = performance.now();
      await producer.send({ topic: requests, acks: -1, messages: [{ key: `wf-${i % 16}`, value: rawJson(i) }] });
      await done;
      roundTrip.push(performance.now() - sentAt);
    }
    const seconds = (performance.now() - started) / 1_000;
    const note = `idempotent producer, acks=-1, eachMessage, maxWaitTimeInMs ${ctx.maxWaitTimeMs}`;
    return [
      latencyRow('kafka', 'raw kafkajs', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, note),
      latencyRow('kafka', 'raw kafkajs', 'round trip request→reply, sequential', roundTrip, seconds, note, 'round-trip'),
    ];
  } finally {
    await Promise.all([server.disconnect(), caller.disconnect()]);
    await producer.disconnect();
  }
}
