import { randomUUID } from 'node:crypto';
import { createRedisStreamsTransport, type RedisStreamsTransport } from '@a2a-bus/redis-streams';
import { busLatency } from './bus-latency.js';
import { dispatchRoundTrip } from './dispatch.js';
import { alternate, deadline, pipelined, publishBatches } from './harness.js';
import { memoryPerInFlight } from './in-flight-memory.js';
import { busMessage } from './payload.js';
import { READ_COUNT, rawLatency, rawThroughput } from './redis-raw.js';
import type { BenchRow, BenchSuite } from './types.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const THROUGHPUT_MESSAGES = Number(process.env.BENCH_REDIS_MESSAGES ?? 40_000);
const LATENCY_MESSAGES = Number(process.env.BENCH_REDIS_LATENCY_MESSAGES ?? 2_000);
const PARTITIONS = 8;
const WINDOW = 1_000; // publishes in flight at once
const BATCH = 500;
const keyPrefix = `a2a-bench-${randomUUID().slice(0, 8)}:`;

function busTransport(partitions = PARTITIONS): RedisStreamsTransport {
  return createRedisStreamsTransport({ url, keyPrefix, partitions, readCount: READ_COUNT });
}

export async function busThroughput(count: number, mode: 'publish' | 'batch' = 'publish'): Promise<BenchRow> {
  const topic = `tp-${randomUUID().slice(0, 8)}`;
  const consumer = busTransport();
  const publisher = busTransport();
  try {
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    await consumer.subscribe(topic, () => void (++handled === count && resolveDone()), { group: 'bench', maxInFlight: 2_048 });
    const started = performance.now();
    if (mode === 'batch') await publishBatches(publisher, topic, count);
    else await pipelined(count, WINDOW, (i) => publisher.publish(topic, busMessage(i)));
    await deadline(done, 'a2a-bus throughput');
    const seconds = (performance.now() - started) / 1_000;
    return {
      backend: 'redis-streams',
      client: 'a2a-bus',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `${PARTITIONS} partitions, ${mode === 'batch' ? `publishBatch() of ${BATCH} × 2 in flight` : `publish() × ${WINDOW} concurrent`}, readCount ${READ_COUNT}, maxInFlight 2048, envelope validated on both sides`,
    };
  } finally {
    await consumer.close({ drainTimeoutMs: 1_000 });
    await publisher.deleteTopic(topic).catch(() => undefined);
    await publisher.close();
  }
}

export const suite: BenchSuite = async (progress) => {
  progress('redis-streams: warm-up');
  await rawThroughput(url, keyPrefix, 2_000, PARTITIONS);
  await busThroughput(2_000);
  const rows = await alternate(
    [
      () => rawThroughput(url, keyPrefix, THROUGHPUT_MESSAGES, 1),
      () => rawThroughput(url, keyPrefix, THROUGHPUT_MESSAGES, PARTITIONS),
      () => busThroughput(THROUGHPUT_MESSAGES),
      () => busThroughput(THROUGHPUT_MESSAGES, 'batch'),
    ],
    progress,
  );
  rows.push(
    ...(await alternate(
      [
        () => rawLatency(url, keyPrefix, LATENCY_MESSAGES, PARTITIONS),
        () => busLatency('redis-streams', () => busTransport(), `lat-${randomUUID().slice(0, 8)}`, LATENCY_MESSAGES, `${PARTITIONS} partitions`),
      ],
      progress,
    )),
  );
  rows.push(await memoryPerInFlight('redis-streams', () => busTransport()));
  rows.push(await memoryPerInFlight('redis-streams', () => busTransport(), 1_024, 2_048, undefined, 64));
  rows.push(
    ...(await dispatchRoundTrip(
      'redis-streams',
      () => createRedisStreamsTransport({ url, keyPrefix }),
      progress,
      LATENCY_MESSAGES,
      undefined,
      2 * LATENCY_MESSAGES,
    )),
  );
  return rows;
};
