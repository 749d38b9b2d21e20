import { createKafkaTransport } from '@a2a-bus/kafka';
import { agentRuntimeSuite, requireBroker, skippedSuite } from './src/index.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));

if (skipReason) {
  skippedSuite('[kafka] agent runtime', skipReason);
} else {
  agentRuntimeSuite({
    name: 'kafka',
    createTransport: () =>
      createKafkaTransport({ brokers, partitions: 4, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000, maxWaitTimeMs: 100 }),
    timeoutMultiplier: 3,
    // Kafka keeps no delivery count: a redelivered record starts again at attempt 1.
    countsDeliveries: false,
  });
}
