import { randomUUID } from 'node:crypto';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { a2aInteropSuite } from './suite/interop-suite.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const keyPrefix = `a2a-js-${randomUUID().slice(0, 8)}:`;

if (skipReason) {
  skippedSuite('[redis-streams] a2a-js interop', skipReason);
} else {
  a2aInteropSuite({
    name: 'redis-streams',
    createTransport: () =>
      createRedisStreamsTransport({ url, keyPrefix, partitions: 4, leaseTtlMs: 3_000, claimMinIdleMs: 3_000, claimIntervalMs: 1_000, blockMs: 500 }),
    transportUrl: url,
    timeoutMultiplier: 2,
  });
}
