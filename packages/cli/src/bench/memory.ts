import { createEnvelope, type EnvelopeInput, type Transport } from '@a2a-bus/core';
import { dispatchRoundTrip } from './dispatch.js';
import { alternate } from './harness.js';
import { memoryPerInFlight } from './in-flight-memory.js';
import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { percentile } from './stats.js';
import type { BenchRow, BenchSuite } from './types.js';

const KIB_TEXT = 'x'.repeat(1024);

function message(key: string, text = KIB_TEXT): EnvelopeInput {
  return { kind: 'message', key, payload: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text }] } };
}

/** publish → handle → ack for `count` messages over `keys` keys; returns messages/s. */
async function throughput(transport: Transport, count: number, keys: number, prebuilt: boolean): Promise<{ seconds: number }> {
  const topic = `bench-${Math.random().toString(36).slice(2)}`;
  let handled = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  await transport.subscribe(
    topic,
    () => {
      handled += 1;
      if (handled === count) resolveDone();
    },
    { group: 'bench', maxInFlight: 4096 },
  );
  const inputs = Array.from({ length: keys }, (_, k) => message(`key-${k}`));
  const envelopes = prebuilt ? Array.from({ length: count }, (_, i) => createEnvelope(inputs[i % keys]!)) : [];
  const started = performance.now();
  const chunk = 1_000;
  for (let i = 0; i < count; i += chunk) {
    const batch = prebuilt ? envelopes.slice(i, i + chunk) : Array.from({ length: Math.min(chunk, count - i) }, (_, j) => inputs[(i + j) % keys]!);
    await transport.publishBatch(topic, batch);
  }
  await done;
  return { seconds: (performance.now() - started) / 1000 };
}

export const suite: BenchSuite = async (progress) => {
  const rows: BenchRow[] = [];
  const count = Number(process.env.BENCH_MEMORY_MESSAGES ?? 200_000);
  const runs: (() => Promise<BenchRow>)[] = [];
  for (const partitions of [1, 8]) {
    for (const prebuilt of [false, true]) {
      runs.push(async () => {
        const transport = createMemoryTransport({ broker: new MemoryBroker(), partitions });
        await throughput(transport, Math.min(20_000, count), 64, prebuilt); // warm-up
        const { seconds } = await throughput(transport, count, 64, prebuilt);
        await transport.close();
        return {
          backend: 'memory',
          client: 'a2a-bus',
          kind: prebuilt ? 'info' : 'throughput',
          scenario: `publish→handle→ack 1 KiB, ${partitions}p, ${prebuilt ? 'envelopes pre-validated' : 'validate at publish'}`,
          messages: count,
          seconds,
          msgsPerSec: count / seconds,
          note: 'publishBatch() of 1000, 64 keys, maxInFlight 4096',
        };
      });
    }
  }
  rows.push(...(await alternate(runs, progress)));

  // One-way latency: publish → handler, one message at a time.
  {
    const transport = createMemoryTransport({ broker: new MemoryBroker(), partitions: 4 });
    const samples: number[] = [];
    let sentAt = 0;
    let resolveOne!: () => void;
    await transport.subscribe(
      'latency',
      () => {
        samples.push(performance.now() - sentAt);
        resolveOne();
      },
      { group: 'bench' },
    );
    progress('memory: one-way latency…');
    const n = Math.min(20_000, count);
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      const arrived = new Promise<void>((resolve) => (resolveOne = resolve));
      sentAt = performance.now();
      await transport.publish('latency', message(`k${i % 16}`));
      await arrived;
    }
    const seconds = (performance.now() - started) / 1000;
    samples.sort((a, b) => a - b);
    rows.push({
      backend: 'memory',
      client: 'a2a-bus',
      kind: 'one-way',
      scenario: 'one-way publish→handler, 1 KiB',
      messages: n,
      seconds,
      msgsPerSec: n / seconds,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
    });
    await transport.close();
  }

  rows.push(
    await memoryPerInFlight(
      'memory',
      () => createMemoryTransport({ broker: sharedBroker, partitions: 8 }),
      1_024,
      2_048,
      'in memory the payload is shared by reference with the publisher (never copied): this is the per-message overhead',
    ),
  );
  rows.push(
    await memoryPerInFlight('memory', () => createMemoryTransport({ broker: sharedBroker, partitions: 8 }), 1_024, 2_048, 'payload shared by reference', 64),
  );
  rows.push(
    ...(await dispatchRoundTrip(
      'memory',
      () => createMemoryTransport({ broker: sharedBroker, partitions: 4 }),
      progress,
      Math.min(5_000, count),
      undefined,
      Math.min(30_000, count),
    )),
  );
  return rows;
};

const sharedBroker = new MemoryBroker();
