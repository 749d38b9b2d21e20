import { appendFileSync } from 'node:fs';
import type { Logger } from '@a2a-bus/core';
import { createKafkaTransport, kafkaCapabilities, type KafkaTransportOptions } from '@a2a-bus/kafka';
import { afterAll, beforeAll } from 'vitest';
import { requireBroker, skippedSuite, transportConformanceSuite } from './src/index.js';
import { startKafkaBroker, type KafkaBrokerHandle } from './src/servers/kafka-broker.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));
const partitions = 4;
// Short group timers so joins, leaves and dead members show up within a case's time.
const options: KafkaTransportOptions = {
  partitions,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 15_000,
  maxWaitTimeMs: 200,
  ...(process.env.KAFKA_TEST_LOG && { logger: fileLogger(process.env.KAFKA_TEST_LOG) }),
};

let restartable: KafkaBrokerHandle | undefined;
beforeAll(async () => {
  if (!skipReason && process.env.KAFKA_RESTART_TEST !== '0') restartable = await startKafkaBroker();
}, 150_000);
afterAll(async () => restartable?.stop(), 60_000);

if (skipReason) {
  skippedSuite('[kafka] transport conformance', skipReason);
} else {
  transportConformanceSuite({
    name: 'kafka',
    capabilities: kafkaCapabilities,
    partitions,
    timeoutMultiplier: 2,
    // A lost commit shows to the next member of the group, which fetches from the last commit
    // (the cases wait for its rebalance first); then one fetch (maxWaitTimeMs) and handling.
    redeliveryBoundMs: options.maxWaitTimeMs! + 800,
    createTransport: (overrides) => createKafkaTransport({ ...options, brokers, ...overrides }),
    ...(process.env.KAFKA_RESTART_TEST !== '0' && {
      restart: {
        createTransport: () => createKafkaTransport({ ...options, brokers: [restartable!.address] }),
        restartBroker: (whileDown) => restartable!.restart(whileDown),
      },
    }),
    cleanup: async (topics) => {
      const admin = createKafkaTransport({ brokers });
      await Promise.all(topics.map((topic) => admin.deleteTopic(topic).catch(() => undefined)));
      await admin.close();
    },
  });
}

/** KAFKA_TEST_LOG=<file>: warnings and errors of every transport, to see why a case failed. */
function fileLogger(file: string): Logger {
  const line = (level: string) => (obj: object, msg?: string) => {
    const { err, ...rest } = obj as { err?: Error };
    appendFileSync(file, `${new Date().toISOString()} ${level} ${msg ?? ''} ${err ? err.message : ''} ${JSON.stringify(rest)}\n`);
  };
  const logger: Logger = { debug: () => {}, info: line('info'), warn: line('warn'), error: line('error'), child: () => logger };
  return logger;
}
