import type { Transport } from '@a2a-bus/core';
import { deadline } from './harness.js';
import { busMessage, sizeLabel } from './payload.js';
import type { BenchRow } from './types.js';

/** Heap plus buffers, after collecting garbage (backing stores are freed a moment after gc). */
async function settledMemory(): Promise<number> {
  for (let i = 0; i < 3; i += 1) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

type Deletable = Transport & { deleteTopic?(topic: string): Promise<void> };

/**
 * Bytes held per in-flight message: handlers that never finish hold `maxInFlight` messages
 * (64 keys → 64 handlers run, the rest wait in their key's lane); the heap + buffers grown
 * after gc, divided by `maxInFlight`. Consumer and publisher live in this process, so the
 * publisher's own garbage is collected first.
 */
export async function memoryPerInFlight(backend: string, create: () => Deletable | Promise<Deletable>, payloadBytes = 1_024, maxInFlight = 2_048, extraNote?: string): Promise<BenchRow> {
  const topic = `mem-${Math.random().toString(36).slice(2, 10)}`;
  const consumer = await create();
  const publisher = await create();
  const release: (() => void)[] = [];
  try {
    await publisher.connect();
    let started = 0;
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
    for (let i = 0; i < maxInFlight; i += 256) await publisher.publishBatch(topic, Array.from({ length: 256 }, (_, j) => busMessage(i + j, 64, payloadBytes)));
    await deadline(
      (async () => {
        while (started < 64) await new Promise((resolve) => setTimeout(resolve, 10));
        await new Promise((resolve) => setTimeout(resolve, 300));
      })(),
      'filling maxInFlight',
    );
    const perMessage = ((await settledMemory()) - before) / maxInFlight;
    return {
      backend,
      client: 'a2a-bus',
      kind: 'memory-per-in-flight',
      scenario: `memory per in-flight message, ${sizeLabel(payloadBytes)} (heap + buffers)`,
      messages: maxInFlight,
      seconds: (performance.now() - began) / 1_000,
      msgsPerSec: Number.NaN,
      bytesPerMessage: perMessage,
      payloadBytes,
      note: [`maxInFlight ${maxInFlight}, ${globalThis.gc ? 'after gc' : 'no --expose-gc: includes garbage'}`, extraNote].filter(Boolean).join('; '),
    };
  } finally {
    for (const resolve of release) resolve();
    await consumer.close({ drainTimeoutMs: 0 });
    await publisher.deleteTopic?.(topic).catch(() => undefined);
    await publisher.close();
  }
}
