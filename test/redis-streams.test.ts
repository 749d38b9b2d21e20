import { createRedisStreamsTransport, redisStreamsCapabilities, type RedisStreamsOptions } from '@a2a-bus/redis-streams';
import { afterAll, beforeAll } from 'vitest';
import { requireBroker, skippedSuite, transportConformanceSuite } from './src/index.js';
import { startRedisServer, type RedisServerHandle } from './src/servers/redis-server.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const partitions = 4;
// Short timers so lapsed leases and lost entries show up within a case's time.
const options: RedisStreamsOptions = { partitions, leaseTtlMs: 3_000, claimMinIdleMs: 3_000, claimIntervalMs: 1_000, blockMs: 500 };

let restartable: RedisServerHandle | undefined;
beforeAll(async () => {
  if (!skipReason) restartable = await startRedisServer();
});
afterAll(async () => restartable?.stop());

if (skipReason) {
  skippedSuite('[redis-streams] transport conformance', skipReason);
} else {
  transportConformanceSuite({
    name: 'redis-streams',
    capabilities: redisStreamsCapabilities,
    partitions,
    // A lost XACK: the sweep finds the entry idle past claimMinIdleMs, at the next sweep, then a read.
    redeliveryBoundMs: options.claimMinIdleMs! + options.claimIntervalMs! + options.blockMs!,
    createTransport: (overrides) => createRedisStreamsTransport({ ...options, url, ...overrides }),
    restart: {
      createTransport: () => createRedisStreamsTransport({ ...options, url: restartable!.url }),
      restartBroker: (whileDown) => restartable!.restart(whileDown),
    },
    cleanup: async (topics) => {
      const admin = createRedisStreamsTransport({ url });
      await Promise.all(topics.map((topic) => admin.deleteTopic(topic)));
      await admin.close();
    },
  });
}
