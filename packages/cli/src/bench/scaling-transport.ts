import type { Transport } from '@a2a-bus/core';

type Deletable = Transport & { deleteTopic?(topic: string): Promise<void> };

/** The backends `pnpm bench --scaling` can drive from several OS processes (memory cannot: it lives in one). */
export const scalingBackends = ['redis-streams', 'nats', 'kafka'] as const;

/** A transport for the scaling runs; `partitions` varies per point, everything else is the adapter's default. */
export async function scalingTransport(backend: string, partitions: number, namespace: string): Promise<Deletable> {
  switch (backend) {
    case 'redis-streams':
      return (await import('@a2a-bus/redis-streams')).createRedisStreamsTransport({
        url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        keyPrefix: `a2a-scale-${namespace}:`,
        partitions,
        readCount: 500,
      });
    case 'nats':
      return (await import('@a2a-bus/nats')).createNatsTransport({
        url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
        streamPrefix: `scale${namespace}`,
        partitions,
      });
    case 'kafka':
      return (await import('@a2a-bus/kafka')).createKafkaTransport({
        brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
        partitions,
        maxWaitTimeMs: 100,
      });
    default:
      throw new Error(`bench --scaling: no backend "${backend}" (one of ${scalingBackends.join(', ')})`);
  }
}
