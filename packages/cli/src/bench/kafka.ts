import { randomUUID } from 'node:crypto';
import { createKafkaTransport, type KafkaTransport } from '@a2a-bus/kafka';
import { dispatchRoundTrip } from './dispatch.js';
import { memoryPerInFlight } from './in-flight-memory.js';
import { alternate, latencyRow, waitUntil } from './harness.js';
import { type KafkaBenchContext, kafkajsLatency, kafkajsThroughput, kafkajsVariants } from './kafka-kafkajs.js';
import { platformaticLatency, platformaticThroughput } from './kafka-platformatic.js';
import { busMessage } from './payload.js';
import type { BenchRow, BenchSuite } from './types.js';

/**
 * Kafka: raw kafkajs and raw @platformatic/kafka beside a2a-bus, on one broker, in one run,
 * alternating. Everyone uses the same topic shape (3 partitions), batches of 500 and the
 * same A2A Message JSON.
 */
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const PARTITIONS = 3;
const THROUGHPUT_MESSAGES = Number(process.env.BENCH_KAFKA_MESSAGES ?? 40_000);
const LATENCY_ROUNDS = Number(process.env.BENCH_KAFKA_ROUNDS ?? 500);
const CHUNK = 500;
const MAX_WAIT_MS = 100;

function busTransport(): KafkaTransport {
  return createKafkaTransport({ brokers, partitions: PARTITIONS, maxWaitTimeMs: MAX_WAIT_MS });
}

export async function busThroughput(count: number, mode: 'batch' | 'concurrent'): Promise<BenchRow> {
  const topic = `bench-bus-tp-${randomUUID().slice(0, 8)}`;
  const bus = busTransport();
  let handled = 0;
  try {
    await bus.subscribe(topic, () => void (handled += 1), { group: 'bench', maxInFlight: 1_024 });
    const started = performance.now();
    if (mode === 'batch') {
      for (let i = 0; i < count; i += CHUNK)
        await bus.publishBatch(
          topic,
          Array.from({ length: Math.min(CHUNK, count - i) }, (_, j) => busMessage(i + j)),
        );
    } else {
      const window = 2_000;
      for (let i = 0; i < count; i += window)
        await Promise.all(Array.from({ length: Math.min(window, count - i) }, (_, j) => bus.publish(topic, busMessage(i + j))));
    }
    await waitUntil(() => handled >= count, 'a2a-bus handler');
    const seconds = (performance.now() - started) / 1_000;
    const how = mode === 'batch' ? `publishBatch() of ${CHUNK}` : 'publish() × 2000 concurrent (coalesced by the producer)';
    return {
      backend: 'kafka',
      client: 'a2a-bus',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `${PARTITIONS} partitions, ${how}, maxInFlight 1024, maxWaitTimeMs ${MAX_WAIT_MS}`,
    };
  } finally {
    await bus.deleteTopic(topic).catch(() => undefined);
    await bus.close();
  }
}

async function busLatency(rounds: number): Promise<BenchRow[]> {
  const name = `bench-bus-lat-${randomUUID().slice(0, 8)}`;
  const bus = busTransport();
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let sentAt = 0;
  let replied: (() => void) | undefined;
  try {
    await bus.subscribe(
      `${name}-req`,
      async (d) => {
        oneWay.push(performance.now() - sentAt);
        await bus.publish(`${name}-rep`, {
          kind: 'message',
          key: d.envelope.key,
          payload: { messageId: `r-${d.envelope.id}`, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] },
        });
      },
      { group: 'srv' },
    );
    await bus.subscribe(`${name}-rep`, () => replied?.(), { group: 'cli' });
    const started = performance.now();
    for (let i = 0; i < rounds; i += 1) {
      const done = new Promise<void>((resolve) => (replied = resolve));
      sentAt = performance.now();
      await bus.publish(`${name}-req`, busMessage(i, 16));
      await done;
      roundTrip.push(performance.now() - sentAt);
    }
    const seconds = (performance.now() - started) / 1_000;
    return [
      latencyRow('kafka', 'a2a-bus', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, `maxWaitTimeMs ${MAX_WAIT_MS}`),
      latencyRow('kafka', 'a2a-bus', 'round trip request→reply, sequential', roundTrip, seconds, `maxWaitTimeMs ${MAX_WAIT_MS}`, 'round-trip'),
    ];
  } finally {
    await Promise.allSettled([bus.deleteTopic(`${name}-req`), bus.deleteTopic(`${name}-rep`)]);
    await bus.close();
  }
}

export const suite: BenchSuite = async (progress) => {
  const admin = busTransport();
  const created: string[] = [];
  const ctx: KafkaBenchContext = {
    brokers,
    partitions: PARTITIONS,
    chunk: CHUNK,
    maxWaitTimeMs: MAX_WAIT_MS,
    async topic(name) {
      const topic = `bench-${name}-${randomUUID().slice(0, 8)}`;
      created.push(topic);
      await (await admin.admin()).createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
      return topic;
    },
  };
  try {
    await admin.connect();
    progress('kafka: warm-up');
    await kafkajsThroughput(ctx, 2_000, kafkajsVariants[0]!);
    await busThroughput(2_000, 'batch');
    const rows = await alternate(
      [
        ...kafkajsVariants.map((variant) => () => kafkajsThroughput(ctx, THROUGHPUT_MESSAGES, variant)),
        () => platformaticThroughput(ctx, THROUGHPUT_MESSAGES),
        () => busThroughput(THROUGHPUT_MESSAGES, 'batch'),
        () => busThroughput(THROUGHPUT_MESSAGES, 'concurrent'),
      ],
      progress,
    );
    rows.push(
      ...(await alternate(
        [() => kafkajsLatency(ctx, LATENCY_ROUNDS), () => platformaticLatency(ctx, LATENCY_ROUNDS), () => busLatency(LATENCY_ROUNDS)],
        progress,
      )),
    );
    rows.push(await memoryPerInFlight('kafka', busTransport));
    rows.push(await memoryPerInFlight('kafka', busTransport, 1_024, 2_048, undefined, 64));
    rows.push(
      ...(await dispatchRoundTrip(
        'kafka',
        () => createKafkaTransport({ brokers, partitions: PARTITIONS, maxWaitTimeMs: 20 }),
        progress,
        LATENCY_ROUNDS,
        () => createKafkaTransport({ brokers }),
        6 * LATENCY_ROUNDS,
      )),
    );
    return rows;
  } finally {
    const client = await admin.admin().catch(() => undefined);
    await client?.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.close();
  }
};
