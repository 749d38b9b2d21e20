import type { TransportAdapter } from '@a2a-bus/core';
import { createNatsTransport } from './transport.js';

export { createNatsTransport, type NatsTransport } from './transport.js';
export { natsCapabilities } from './capabilities.js';
export type { NatsTransportOptions } from './options.js';

/** `nats://host:4222` (or `{ backend: 'nats', servers }`) for `createTransport`. */
export const adapter: TransportAdapter = {
  backend: 'nats',
  schemes: ['nats', 'tls'],
  create: (config) => createNatsTransport(config),
};
