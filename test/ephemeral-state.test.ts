import { randomUUID } from 'node:crypto';
import { createKafkaTransport } from '@a2a-bus/kafka';
import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { createNatsTransport } from '@a2a-bus/nats';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { describe } from 'vitest';
import { requireBroker, skippedSuite } from './src/index.js';
import { countKafka, countNats, countRedis } from '../packages/cli/src/soak/broker-objects.js';
import { restartLeftoversSuite } from './src/hygiene/restart-suite.js';

// Restarts leave nothing behind (issue 10): per-process reply, control and registry cursors
// are ephemeral groups, removed on close and reclaimed after a crash within the stated time.

describe('memory', () => {
  const broker = new MemoryBroker();
  restartLeftoversSuite({
    name: 'memory',
    createTransport: () => createMemoryTransport({ broker, partitions: 4 }),
    reclaimMs: 0,
    count: async (namespace) => {
      let groups = 0;
      for (const suffix of ['replies', 'control', 'registry', 'workflows', 'tasks.echo'])
        groups += broker.existingTopic(`${namespace}.${suffix}`)?.groups.size ?? 0;
      return { total: groups, detail: { groups } };
    },
  });
});

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisSkip = await requireBroker('Redis', new URL(redisUrl).hostname, Number(new URL(redisUrl).port || 6379));
const keyPrefix = `a2a-hyg-${randomUUID().slice(0, 8)}:`;
const redisOptions = { url: redisUrl, keyPrefix, partitions: 4, leaseTtlMs: 2_000, claimMinIdleMs: 2_000, claimIntervalMs: 1_000, blockMs: 500 };
if (redisSkip) skippedSuite('[redis-streams] restarts leave nothing behind', redisSkip);
else {
  restartLeftoversSuite({
    name: 'redis-streams',
    createTransport: () => createRedisStreamsTransport(redisOptions),
    // Dead members drop out after the lease TTL; the next ephemeral subscriber sweeps groups older than twice it.
    reclaimMs: 2 * redisOptions.leaseTtlMs + 500,
    child: { backend: 'redis-streams', options: redisOptions },
    count: (namespace) => countRedis(redisUrl, keyPrefix, namespace),
  });
}

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const natsSkip = await requireBroker('NATS', new URL(natsUrl).hostname, Number(new URL(natsUrl).port || 4222));
const natsOptions = { url: natsUrl, partitions: 4, streamPrefix: 'a2ahyg', ackWaitMs: 2_000, leaseTtlMs: 2_000 };
if (natsSkip) skippedSuite('[nats] restarts leave nothing behind', natsSkip);
else {
  restartLeftoversSuite({
    name: 'nats',
    createTransport: () => createNatsTransport(natsOptions),
    // The server deletes an ephemeral group's consumers once idle for max(10 s, 3 lease TTLs).
    reclaimMs: 10_000,
    child: { backend: 'nats', options: natsOptions },
    count: (namespace) => countNats(natsUrl, natsOptions.streamPrefix, namespace),
  });
}

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [kafkaHost, kafkaPort] = brokers[0]!.split(':');
const kafkaSkip = await requireBroker('Kafka', kafkaHost!, Number(kafkaPort));
const kafkaOptions = { brokers, partitions: 4, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000, maxWaitTimeMs: 100 };
if (kafkaSkip) skippedSuite('[kafka] restarts leave nothing behind', kafkaSkip);
else {
  restartLeftoversSuite({
    name: 'kafka',
    createTransport: () => createKafkaTransport(kafkaOptions),
    // The broker expels a dead member after the session timeout; the next process deletes
    // ephemeral groups older than twice it that are empty, and still empty twice it later.
    reclaimMs: 2 * kafkaOptions.sessionTimeoutMs + 500,
    confirmMs: 2 * kafkaOptions.sessionTimeoutMs,
    child: { backend: 'kafka', options: kafkaOptions },
    count: (namespace) => countKafka(brokers, namespace),
  });
}
