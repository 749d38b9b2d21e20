import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { anomalyFaultSuite } from './src/fault-suite.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));

if (skipReason) skippedSuite('[kafka] anomaly detection', skipReason);
else
  anomalyFaultSuite({
    name: 'kafka',
    spec: () => ({
      backend: 'kafka',
      options: { brokers, partitions: 4, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000, maxWaitTimeMs: 100 },
    }),
  });
