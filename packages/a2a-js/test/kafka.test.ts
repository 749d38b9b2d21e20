import { createKafkaTransport } from '@a2a-bus/kafka';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { a2aInteropSuite } from './suite/interop-suite.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));

if (skipReason) {
  skippedSuite('[kafka] a2a-js interop', skipReason);
} else {
  a2aInteropSuite({
    name: 'kafka',
    createTransport: () =>
      createKafkaTransport({ brokers, partitions: 4, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000, maxWaitTimeMs: 100 }),
    transportUrl: `kafka://${brokers.join(',')}`,
    timeoutMultiplier: 3,
  });
}
