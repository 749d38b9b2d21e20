import type { AdapterModule, Transport } from '@a2a-bus/core';
import type { RedisStreamsOptions } from './options.js';
import { RedisStreamsTransport } from './transport.js';

export { RedisStreamsTransport } from './transport.js';
export { RedisLeaseStore } from './lease-store.js';
export { redisStreamsCapabilities } from './capabilities.js';
export { redisStreamsOptionsSchema, type RedisStreamsOptions, type ResolvedRedisStreamsOptions } from './options.js';
export { TopicKeys } from './keys.js';
export { trimStream, type RetentionPolicy } from './retention.js';

/**
 * Creates a transport over Redis Streams. The client connects on first use or on
 * `connect()`; options are validated here and a bad one throws `InvalidOptionsError`.
 *
 * @example
 * const transport = createRedisStreamsTransport({ url: 'redis://127.0.0.1:6379', partitions: 8 });
 */
export function createRedisStreamsTransport(options: RedisStreamsOptions = {}): RedisStreamsTransport {
  return new RedisStreamsTransport(options);
}

/** For `createTransport('redis://host:6379')` in `@a2a-bus/core`. */
export function createTransportFromConfig(config: Record<string, unknown>): Transport {
  return createRedisStreamsTransport(config as RedisStreamsOptions);
}

export const adapter: AdapterModule = { createTransportFromConfig };
