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
 * Bytes held per in-flight message: handlers that never finish hold up to `maxInFlight`
 * messages, each on its own key so each has a running handler to count; the heap + buffers
 * grown after gc, divided by the messages held. Consumer and publisher share this process
 * (the publisher's garbage is collected before measuring).
 */
export async function memoryPerInFlight(
  backend: string,
  create: () => Deletable | Promise<Deletable>,
  payloadBytes = 1_024,
  maxInFlight = 2_048,
  extraNote?: string,
  keys = maxInFlight,
): Promise<BenchRow> {
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
    // One key per message (the default): every held message has its handler running, so
    // `started` counts them. With fewer keys, `keys` handlers run and the rest wait in their
    // key's lane; then all `maxInFlight` are assumed held once intake stops growing.
    for (let i = 0; i < maxInFlight; i += 256)
      await publisher.publishBatch(
        topic,
        Array.from({ length: Math.min(256, maxInFlight - i) }, (_, j) => busMessage(i + j, keys, payloadBytes)),
      );
    await deadline(
      (async () => {
        let seen = -1;
        while (started < Math.min(keys, maxInFlight) && started !== seen) {
          seen = started;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
        if (keys < maxInFlight) await new Promise((resolve) => setTimeout(resolve, 1_000));
      })(),
      'filling maxInFlight',
    );
    const held = keys < maxInFlight ? maxInFlight : started;
    const perMessage = ((await settledMemory()) - before) / held;
    return {
      backend,
      client: 'a2a-bus',
      kind: 'memory-per-in-flight',
      scenario: `memory per in-flight message, ${sizeLabel(payloadBytes)}, ${keys < maxInFlight ? `${keys} keys (${keys} handlers running, the rest queued)` : 'each its own key and running handler'}`,
      messages: held,
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
