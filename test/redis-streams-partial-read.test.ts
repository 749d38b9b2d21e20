import { randomUUID } from 'node:crypto';
import { createRedisStreamsTransport, type RedisStreamsTransport } from '@a2a-bus/redis-streams';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { textMessage, waitFor } from './src/conformance/context.js';
import { requireBroker } from './src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const prefix = `a2a-test-${randomUUID().slice(0, 8)}:`;

/**
 * With less in-flight room than partitions the reader reads some partitions at a time. It
 * used to BLOCK blockMs on such a subset even while the others held entries: with
 * maxInFlight 1 over 8 partitions that was about one second per empty pick (40 messages took
 * ~30 s). The bound below is generous (blockMs 2 s, ~4 s of reads if each empty pick blocked
 * fully would already exceed it many times over).
 */
describe.skipIf(skipReason)(`[redis-streams] reading a subset of partitions${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  const open: RedisStreamsTransport[] = [];
  afterAll(async () => {
    await Promise.allSettled(open.map((t) => t.close({ drainTimeoutMs: 500 })));
    const raw = new Redis(url);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.unlink(...keys);
    raw.disconnect();
  });

  it('maxInFlight 1 over 8 partitions does not sleep on empty partitions while others hold entries', async () => {
    const make = (): RedisStreamsTransport => {
      const transport = createRedisStreamsTransport({ url, keyPrefix: prefix, partitions: 8, blockMs: 2_000 });
      open.push(transport);
      return transport;
    };
    const consumer = make();
    const publisher = make();
    const topic = `partial-${randomUUID().slice(0, 8)}`;
    const handled: string[] = [];
    await consumer.subscribe(topic, (d) => void handled.push(d.envelope.key), { group: 'g', maxInFlight: 1 });
    // 3 keys: at most 3 of the 8 partitions hold entries, so most picks of one partition are empty.
    await publisher.publishBatch(
      topic,
      Array.from({ length: 30 }, (_, i) => textMessage(`key-${i % 3}`, `m${i}`)),
    );
    const started = performance.now();
    await waitFor('30 messages', () => handled.length >= 30, 20_000);
    expect(handled).toHaveLength(30);
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 40_000);
});
