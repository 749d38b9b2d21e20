import type { Transport } from '@a2a-bus/core';
import { createMemoryTransport } from './memory-transport.js';
import { memoryOptionsFromConfig } from './options.js';

export { createMemoryTransport } from './memory-transport.js';
export { memoryCapabilities } from './capabilities.js';
export { MemoryBroker, namedBroker } from './log.js';
export type { MemoryTransportOptions } from './options.js';

/** For `createTransport('memory://…')`. */
export function createTransportFromConfig(config: Record<string, unknown>): Transport {
  return createMemoryTransport(memoryOptionsFromConfig(config));
}
