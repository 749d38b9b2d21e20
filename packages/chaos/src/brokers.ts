// The brokers the conformance suite restarts are the ones a chaos run restarts: same code,
// imported from the test workspace (they start real servers, no test framework involved).
import { startKafkaBroker } from '../../../test/src/servers/kafka-broker.js';
import { startNatsServer } from '../../../test/src/servers/nats-server.js';
import { startRedisServer } from '../../../test/src/servers/redis-server.js';
import type { ChaosBackend } from './options.js';

/** A broker instance the run owns: durable storage, restartable mid-stream. */
export interface OwnBroker {
  readonly url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the run's own broker from `firstPort` on: redis-server with AOF `appendfsync
 * always`, nats-server with JetStream file storage, or a Kafka KRaft node from the jars.
 */
export async function startOwnBroker(backend: ChaosBackend, firstPort: number): Promise<OwnBroker | undefined> {
  switch (backend) {
    case 'redis': {
      const redis = await startRedisServer({ firstPort });
      return { url: redis.url, restart: () => redis.restart(), stop: () => redis.stop() };
    }
    case 'nats': {
      const nats = await startNatsServer({ firstPort: firstPort + 200 });
      return { url: nats.url, restart: () => nats.restart(), stop: () => nats.stop() };
    }
    case 'kafka': {
      const kafka = await startKafkaBroker({ firstPort: firstPort + 400 });
      return { url: `kafka://${kafka.address}`, restart: () => kafka.restart(), stop: () => kafka.stop() };
    }
    default:
      return undefined;
  }
}

/** Where a run goes when it brings no broker of its own. */
export function sharedBrokerUrl(backend: ChaosBackend, namespace: string): string {
  switch (backend) {
    case 'kafka':
      return `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`;
    case 'redis':
      return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    case 'nats':
      return process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    default:
      return `memory://${namespace}`;
  }
}
