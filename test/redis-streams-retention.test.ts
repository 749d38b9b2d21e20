import { randomUUID } from 'node:crypto';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { TopicKeys } from '../packages/redis-streams/src/keys.js';
import { delay, textMessage, waitFor } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skipReason = await requireBroker('Redis', new URL(url).hostname, Number(new URL(url).port || 6379));
const prefix = `a2a-ret-${randomUUID().slice(0, 8)}:`;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

if (skipReason) skippedSuite('[redis-streams] retention under load', skipReason);
else {
  it('[redis-streams] with a small retention a long run stays bounded while every live group gets every message', async () => {
    const topic = `retention-${randomUUID().slice(0, 8)}`;
    const maxLen = 50;
    const transport = createRedisStreamsTransport({ url, keyPrefix: prefix, partitions: 1, blockMs: 100, retention: { maxLen, intervalMs: 100 } });
    const raw = new Redis(url);
    cleanups.push(async () => {
      await transport.deleteTopic(topic);
      await transport.close({ drainTimeoutMs: 500 });
      raw.disconnect();
    });
    const fast = new Set<string>();
    const slow = new Set<string>();
    await transport.subscribe(topic, (d) => void fast.add(d.envelope.id), { group: 'fast' });
    // A slower group: trimming must wait for it, never cut what it has not read or acked.
    await transport.subscribe(
      topic,
      async (d) => {
        await delay(1);
        slow.add(d.envelope.id);
      },
      { group: 'slow', maxInFlight: 8 },
    );
    const stream = new TopicKeys(prefix, topic).stream(0);
    const total = 2_000;
    let longest = 0;
    const ids: string[] = [];
    for (let i = 0; i < total; i += 100) {
      const receipts = await transport.publishBatch(
        topic,
        Array.from({ length: 100 }, (_, j) => textMessage(`k${j % 8}`, `m${i + j}`)),
      );
      ids.push(...receipts.map((r) => r.id));
      await delay(120);
      longest = Math.max(longest, await raw.xlen(stream));
    }
    await waitFor('both groups to get every message', () => fast.size === total && slow.size === total, 60_000);
    await delay(400); // a trim round after the last acks
    const final = await raw.xlen(stream);
    expect(ids.every((id) => fast.has(id) && slow.has(id))).toBe(true);
    // Bounded: never near the 2 000 published; at the end back to the limit.
    expect(longest).toBeLessThan(total / 2);
    expect(final).toBeLessThanOrEqual(maxLen);
  }, 90_000);
}
