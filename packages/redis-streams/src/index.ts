import type { TransportAdapter } from '@a2a-bus/core';
import type { RedisStreamsOptions } from './options.js';
import { RedisStreamsTransportImpl, type RedisStreamsTransport } from './transport.js';

export type { RedisStreamsTransport } from './transport.js';
export { redisStreamsCapabilities } from './capabilities.js';
export type { RedisStreamsOptions } from './options.js';

/**
 * Creates a transport over Redis Streams. The client connects on first use or on
 * `connect()`; options are validated here and a bad one throws `InvalidOptionsError`.
 *
 * @example
 * const transport = createRedisStreamsTransport({ url: 'redis://127.0.0.1:6379', partitions: 8 });
 */
export function createRedisStreamsTransport(options: RedisStreamsOptions = {}): RedisStreamsTransport {
  return new RedisStreamsTransportImpl(options);
}

/** `redis://host:6379` or `rediss://…` (or `{ backend: 'redis-streams', … }`) for `createTransport`. */
export const adapter: TransportAdapter = {
  backend: 'redis-streams',
  schemes: ['redis', 'rediss'],
  create: (config) => createRedisStreamsTransport(config as RedisStreamsOptions),
};
export { createRedisIdempotencyStore, RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from './idempotency-store.js';
