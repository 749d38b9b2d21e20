import type { AdapterModule, Transport } from '@a2a-bus/core';
import { createNatsTransport } from './transport.js';

export { createNatsTransport, NatsTransport } from './transport.js';
export { natsTransportOptionsSchema, defaultNatsServer } from './options.js';
export type { NatsTransportOptions } from './options.js';
export { NatsLeaseStore } from './lease-store.js';
export { natsCapabilities } from './capabilities.js';
export { toToken, fromToken } from './names.js';

/** For `createTransport('nats://host:4222')` and `createTransport({ backend: 'nats', ... })`. */
export function createTransportFromConfig(config: Record<string, unknown>): Transport {
  return createNatsTransport(config);
}

export const adapter: AdapterModule = { createTransportFromConfig };
