import type { Transport } from '@a2a-bus/core';
import { createKafkaTransport } from './kafka-transport.js';

export { createKafkaTransport, type KafkaTransport } from './kafka-transport.js';
export { kafkaCapabilities } from './capabilities.js';
export { brokersFromUrl } from './options.js';
export type { KafkaTransportOptions } from './options.js';

/** For `createTransport('kafka://host:9092,host2:9092')`. */
export function createTransportFromConfig(config: Record<string, unknown>): Transport {
  return createKafkaTransport(config);
}
