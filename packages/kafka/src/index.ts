import type { TransportAdapter } from '@a2a-bus/core';
import { createKafkaTransport } from './kafka-transport.js';

export { createKafkaTransport, type KafkaTransport } from './kafka-transport.js';
export { kafkaCapabilities } from './capabilities.js';
export { fixKafkajsIdleTimer } from './kafkajs-idle-timer.js';
export type { KafkaTransportOptions } from './options.js';

/** `kafka://host:9092,host2:9092` (or `{ backend: 'kafka', brokers }`) for `createTransport`. */
export const adapter: TransportAdapter = {
  backend: 'kafka',
  schemes: ['kafka', 'kafka+ssl'],
  create: (config) => createKafkaTransport(config),
};
