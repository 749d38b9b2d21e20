import { AgentBus, createEnvelope, type EnvelopeInput, type Transport } from '@a2a-bus/core';
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
  await transport.subscribe(topic, () => {
    handled += 1;
    if (handled === count) resolveDone();
  }, { group: 'bench', maxInFlight: 4096 });
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
  const count = 200_000;
  for (const partitions of [1, 8]) {
    for (const prebuilt of [false, true]) {
      const transport = createMemoryTransport({ broker: new MemoryBroker(), partitions });
      progress(`memory: throughput, ${partitions} partition(s), ${prebuilt ? 'pre-validated' : 'validated in the loop'}…`);
      await throughput(transport, 20_000, 64, prebuilt); // warm-up
      const { seconds } = await throughput(transport, count, 64, prebuilt);
      rows.push({
        backend: 'memory',
        client: 'a2a-bus',
        scenario: `publish→handle→ack 1 KiB, ${partitions}p, ${prebuilt ? 'envelopes pre-validated' : 'validate at publish'}`,
        messages: count,
        seconds,
        msgsPerSec: count / seconds,
      });
      await transport.close();
    }
  }

  // One-way latency: publish → handler, one message at a time.
  {
    const transport = createMemoryTransport({ broker: new MemoryBroker(), partitions: 4 });
    const samples: number[] = [];
    let sentAt = 0;
    let resolveOne!: () => void;
    await transport.subscribe('latency', () => {
      samples.push(performance.now() - sentAt);
      resolveOne();
    }, { group: 'bench' });
    progress('memory: one-way latency…');
    const n = 20_000;
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      const arrived = new Promise<void>((resolve) => (resolveOne = resolve));
      sentAt = performance.now();
      await transport.publish('latency', message(`k${i % 16}`));
      await arrived;
    }
    const seconds = (performance.now() - started) / 1000;
    samples.sort((a, b) => a - b);
    rows.push({ backend: 'memory', client: 'a2a-bus', scenario: 'one-way publish→handler, 1 KiB', messages: n, seconds, msgsPerSec: n / seconds, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) });
    await transport.close();
  }

  rows.push(...(await dispatchRoundTrip('memory', () => createMemoryTransport({ broker: sharedBroker, partitions: 4 }), progress, 5_000)));
  return rows;
};

const sharedBroker = new MemoryBroker();

/**
 * Dispatch round trip through the agent runtime: request → worker → result, sequentially
 * (latency) and with 64 in flight (throughput). Reused by every backend's bench.
 */
export async function dispatchRoundTrip(
  backend: string,
  createTransport: () => Transport | Promise<Transport>,
  progress: (line: string) => void,
  count: number,
): Promise<BenchRow[]> {
  const namespace = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const workerTransport = await createTransport();
  const callerTransport = await createTransport();
  const worker = new AgentBus({ transport: workerTransport, namespace, audit: false });
  const caller = new AgentBus({ transport: callerTransport, namespace, audit: false });
  await worker.registerAgent({ name: 'echo', description: 'echo', version: '1', skills: [{ id: 'bench.echo', name: 'echo', tags: [] }] }, { 'bench.echo': () => 'ok' });
  await caller.start();
  for (let i = 0; i < 200 && !caller.agents().length; i += 1) await new Promise((r) => setTimeout(r, 50));
  progress(`${backend}: dispatch round trip…`);
  for (let i = 0; i < Math.min(200, count / 10); i += 1) await caller.dispatch('bench.echo', 'warm-up', { workflowId: `w${i % 32}` });
  const samples: number[] = [];
  let started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await caller.dispatch('bench.echo', 'ping', { workflowId: `w${i % 32}` });
    samples.push(performance.now() - t0);
  }
  const sequentialSeconds = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const rows: BenchRow[] = [
    { backend, client: 'a2a-bus', scenario: 'dispatch round trip (request→worker→result), sequential', messages: count, seconds: sequentialSeconds, msgsPerSec: count / sequentialSeconds, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) },
  ];
  progress(`${backend}: dispatch throughput, 64 in flight…`);
  started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await caller.dispatch('bench.echo', 'ping', { workflowId: `w${i % 256}` });
      }
    }),
  );
  const parallelSeconds = (performance.now() - started) / 1000;
  rows.push({ backend, client: 'a2a-bus', scenario: 'dispatch round trip, 64 in flight', messages: count, seconds: parallelSeconds, msgsPerSec: count / parallelSeconds });
  await caller.close();
  await worker.close();
  await Promise.all([callerTransport.close(), workerTransport.close()]);
  return rows;
}
