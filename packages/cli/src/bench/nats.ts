import { randomUUID } from 'node:crypto';
import { createNatsTransport, type NatsTransport } from '@a2a-bus/nats';
import { busLatency } from './bus-latency.js';
import { dispatchRoundTrip } from './dispatch.js';
import { memoryPerInFlight } from './in-flight-memory.js';
import { alternate, deadline, pipelined, publishBatches } from './harness.js';
import { rawClients, rawLatency, rawThroughput } from './nats-raw.js';
import { busMessage } from './payload.js';
import type { BenchRow, BenchSuite } from './types.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const THROUGHPUT_MESSAGES = Number(process.env.BENCH_NATS_MESSAGES ?? 20_000);
const LATENCY_MESSAGES = Number(process.env.BENCH_NATS_LATENCY_MESSAGES ?? 1_000);
const PARTITIONS = 8;
const WINDOW = 1_000; // publishes in flight at once

function busTransport(): NatsTransport {
  return createNatsTransport({ url, streamPrefix: 'bench', partitions: PARTITIONS });
}

export async function busThroughput(count: number, mode: 'publish' | 'batch' = 'publish'): Promise<BenchRow> {
  const topic = `bench.tp.${randomUUID().slice(0, 8)}`;
  const transport = busTransport();
  try {
    let handled = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    await transport.subscribe(topic, () => void (++handled === count && resolveDone()), { group: 'bench', maxInFlight: 1_024 });
    const started = performance.now();
    if (mode === 'batch') await publishBatches(transport, topic, count);
    else await pipelined(count, WINDOW, (i) => transport.publish(topic, busMessage(i)));
    await deadline(done, 'a2a-bus throughput');
    const seconds = (performance.now() - started) / 1_000;
    return {
      backend: 'nats',
      client: 'a2a-bus',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `${PARTITIONS} partitions, ${mode === 'batch' ? 'publishBatch() of 500 × 2 in flight' : `publish() × ${WINDOW} concurrent`}, maxInFlight 1024`,
    };
  } finally {
    await transport.deleteTopic(topic).catch(() => undefined);
    await transport.close({ drainTimeoutMs: 1_000 });
  }
}

export const suite: BenchSuite = async (progress) => {
  const raw = await rawClients(url);
  try {
    progress('nats: warm-up');
    await rawThroughput(raw, 2_000, PARTITIONS, 'explicit');
    await busThroughput(2_000);
    const rows = await alternate(
      [
        () => rawThroughput(raw, THROUGHPUT_MESSAGES, PARTITIONS, 'explicit'),
        () => rawThroughput(raw, THROUGHPUT_MESSAGES, PARTITIONS, 'all'),
        () => busThroughput(THROUGHPUT_MESSAGES),
        () => busThroughput(THROUGHPUT_MESSAGES, 'batch'),
      ],
      progress,
    );
    rows.push(
      ...(await alternate(
        [
          () => rawLatency(raw, LATENCY_MESSAGES, PARTITIONS),
          () => busLatency('nats', busTransport, `bench.lat.${randomUUID().slice(0, 8)}`, LATENCY_MESSAGES, `${PARTITIONS} partitions`),
        ],
        progress,
      )),
    );
    rows.push(await memoryPerInFlight('nats', busTransport));
    rows.push(await memoryPerInFlight('nats', busTransport, 1_024, 2_048, undefined, 64));
    rows.push(...(await dispatchRoundTrip('nats', busTransport, progress, LATENCY_MESSAGES, () => createNatsTransport({ url }), 3 * LATENCY_MESSAGES)));
    return rows;
  } finally {
    await raw.nc.close();
  }
};
