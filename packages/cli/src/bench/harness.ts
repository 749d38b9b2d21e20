import type { EnvelopeInput, Transport } from '@a2a-bus/core';

/** Bounded: a benchmark scenario that has not finished by then fails instead of hanging. */
export const SCENARIO_TIMEOUT_MS = 30_000;

/** Runs `send(i)` for i in [0, count) with at most `window` in flight. */
export async function pipelined(count: number, window: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function deadline<T>(promise: Promise<T>, what: string, ms = SCENARIO_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One-way latency through a2a-bus: publish one message, wait until the handler saw it,
 * repeat. Each envelope carries its send time in a header. Samples are in ms.
 */
export async function measureOneWay(
  consumer: Transport,
  publisher: Transport,
  topic: string,
  count: number,
  make: (i: number, sent: string) => EnvelopeInput,
): Promise<{ samples: number[]; seconds: number }> {
  const samples: number[] = [];
  let waiting: (() => void) | undefined;
  await consumer.subscribe(
    topic,
    (d) => {
      samples.push(performance.now() - Number(d.envelope.headers?.sent));
      waiting?.();
    },
    { group: 'bench' },
  );
  await publisher.connect();
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const arrived = new Promise<void>((resolve) => (waiting = resolve));
    await publisher.publish(topic, make(i, String(performance.now())));
    await deadline(arrived, 'a2a-bus latency');
  }
  return { samples, seconds: (performance.now() - started) / 1_000 };
}
