import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deadline, latencyRow } from './harness.js';
import { rawJson } from './payload.js';
import type { BenchRow } from './types.js';

/**
 * Raw ioredis rows: the best this client does idiomatically for the job. Publish: explicit
 * pipelines of `PIPELINE` XADDs, a few in flight; consume: XREADGROUP COUNT `READ_COUNT` over
 * every stream, JSON.parse each entry, one XACK per stream per batch on a second
 * (auto-pipelined) connection.
 */
export const READ_COUNT = 500;
const PIPELINE = 500;
const PIPELINES_IN_FLIGHT = 2;

export function rawClient(url: string, autoPipelining = false): Redis {
  return new Redis(url, { protocol: 2, enableAutoPipelining: autoPipelining });
}

type ReadReply = [stream: string, entries: [id: string, fields: string[]][]][] | null;

/** XREADGROUP → handle → XACK per batch, until `count` messages or `stop()`. */
export function rawConsumer(url: string, streams: string[], group: string, onMessage: (fields: string[]) => void, count = Number.POSITIVE_INFINITY) {
  const reader = rawClient(url);
  const acker = rawClient(url, true);
  const acks = new Set<Promise<unknown>>();
  let stopped = false;
  let handled = 0;
  const done = (async () => {
    while (!stopped && handled < count) {
      const reply = (await reader.xreadgroup(
        'GROUP',
        group,
        'c',
        'COUNT',
        READ_COUNT,
        'BLOCK',
        100,
        'STREAMS',
        ...streams,
        ...streams.map(() => '>'),
      )) as ReadReply;
      for (const [stream, entries] of reply ?? []) {
        for (const [, fields] of entries) onMessage(fields);
        const ack = acker.xack(stream, group, ...entries.map(([id]) => id));
        acks.add(ack);
        void ack.finally(() => acks.delete(ack));
        handled += entries.length;
      }
    }
  })();
  return {
    done,
    async stop(): Promise<void> {
      stopped = true;
      await done.catch(() => undefined);
      await Promise.allSettled([...acks]);
      reader.disconnect();
      await acker.quit().catch(() => undefined);
    },
  };
}

export async function rawStreams(client: Redis, prefix: string, partitions: number, group: string): Promise<string[]> {
  const streams = Array.from({ length: partitions }, (_, p) => `${prefix}:${p}`);
  for (const stream of streams) await client.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  return streams;
}

export async function rawThroughput(url: string, keyPrefix: string, count: number, partitions: number): Promise<BenchRow> {
  const publisher = rawClient(url);
  const streams = await rawStreams(publisher, `${keyPrefix}raw-tp-${randomUUID().slice(0, 8)}`, partitions, 'g');
  try {
    const consumer = rawConsumer(url, streams, 'g', (fields) => JSON.parse(fields[3]!), count);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: PIPELINES_IN_FLIGHT }, async () => {
        while (next < count) {
          const pipeline = publisher.pipeline();
          for (const end = Math.min(count, next + PIPELINE); next < end; next += 1)
            pipeline.xadd(streams[next % partitions]!, '*', 'k', `wf-${next % 64}`, 'v', rawJson(next));
          await pipeline.exec();
        }
      }),
    );
    await deadline(consumer.done, 'raw throughput');
    const seconds = (performance.now() - started) / 1_000;
    await consumer.stop();
    return {
      backend: 'redis-streams',
      client: 'raw ioredis',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `${partitions} stream(s), pipelines of ${PIPELINE} XADD × ${PIPELINES_IN_FLIGHT} in flight, XREADGROUP COUNT ${READ_COUNT}, one XACK per stream per batch; JSON.stringify/parse`,
    };
  } finally {
    await publisher.unlink(...streams).catch(() => undefined);
    publisher.disconnect();
  }
}

/** One at a time: publish start → handler start (one-way), and request → responder → reply (round trip). */
export async function rawLatency(url: string, keyPrefix: string, count: number, partitions: number): Promise<BenchRow[]> {
  const client = rawClient(url);
  const name = `${keyPrefix}raw-rt-${randomUUID().slice(0, 8)}`;
  const requests = await rawStreams(client, `${name}-req`, partitions, 'g');
  const replies = await rawStreams(client, `${name}-rep`, 1, 'g');
  const responder = rawClient(url, true);
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let waiting: (() => void) | undefined;
  const serve = rawConsumer(url, requests, 'g', (fields) => {
    const request = JSON.parse(fields[3]!) as { messageId: string };
    oneWay.push(performance.now() - Number(fields[1]));
    void responder.xadd(replies[0]!, '*', 't', fields[1]!, 'v', JSON.stringify({ messageId: request.messageId, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] }));
  });
  const listen = rawConsumer(url, replies, 'g', (fields) => {
    JSON.parse(fields[3]!);
    roundTrip.push(performance.now() - Number(fields[1]));
    waiting?.();
  });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      await client.xadd(requests[i % partitions]!, '*', 't', String(performance.now()), 'v', rawJson(i));
      await deadline(arrived, 'raw round trip');
    }
    const seconds = (performance.now() - started) / 1_000;
    const note = `${partitions} streams, XREADGROUP BLOCK, XACK per batch`;
    return [
      latencyRow('redis-streams', 'raw ioredis', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, note),
      latencyRow('redis-streams', 'raw ioredis', 'round trip request→reply, sequential', roundTrip, seconds, note, 'round-trip'),
    ];
  } finally {
    await Promise.all([serve.stop(), listen.stop()]);
    await client.unlink(...requests, ...replies).catch(() => undefined);
    client.disconnect();
    responder.disconnect();
  }
}
