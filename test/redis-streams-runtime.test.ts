import { randomUUID } from 'node:crypto';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { agentRuntimeSuite, requireBroker, skippedSuite } from './src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const keyPrefix = `a2a-runtime-${randomUUID().slice(0, 8)}:`;

if (skipReason) {
  skippedSuite('[redis-streams] agent runtime', skipReason);
} else {
  agentRuntimeSuite({
    name: 'redis-streams',
    createTransport: () =>
      createRedisStreamsTransport({ url, keyPrefix, partitions: 4, leaseTtlMs: 3_000, claimMinIdleMs: 3_000, claimIntervalMs: 1_000, blockMs: 500 }),
    timeoutMultiplier: 2,
  });
}
