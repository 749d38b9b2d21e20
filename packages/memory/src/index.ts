import type { TransportAdapter } from '@a2a-bus/core';
import { createMemoryTransport } from './memory-transport.js';
import { memoryOptionsFromConfig } from './options.js';

export { createMemoryTransport } from './memory-transport.js';
export { memoryCapabilities } from './capabilities.js';
export { MemoryBroker } from './log.js';
export type { MemoryTransportOptions } from './options.js';

/** `memory://<broker name>` for `createTransport`; transports of one name share one log. */
export const adapter: TransportAdapter = {
  backend: 'memory',
  schemes: ['memory'],
  create: (config) => createMemoryTransport(memoryOptionsFromConfig(config)),
};
