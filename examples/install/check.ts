// Typechecked in CI against the published .d.ts files, with moduleResolution NodeNext and Bundler.
import { AgentBus, type Envelope, InvalidEnvelopeError, type Transport, type TransportAdapter, createTransport } from '@a2a-bus/core';
import { KeyedDispatcher, type LeaseStore, PartitionBalancer } from '@a2a-bus/core/adapter';
import { createMemoryTransport, memoryCapabilities } from '@a2a-bus/memory';
import { createRedisStreamsTransport, type RedisStreamsTransport } from '@a2a-bus/redis-streams';

const transport: Transport = createMemoryTransport({ partitions: 4 });
const redis: RedisStreamsTransport = createRedisStreamsTransport({ url: 'redis://127.0.0.1:6379' });
const adapter: TransportAdapter = { backend: 'custom', schemes: ['custom'], create: () => transport };
const fromUrl: Promise<Transport> = createTransport('custom://x', { adapters: [adapter] });
const bus = new AgentBus({ transport, namespace: 'typed' });
const check = (error: unknown): boolean => InvalidEnvelopeError.isInstance(error);
const first = (envelope: Envelope): string => envelope.id;
export { bus, check, first, fromUrl, redis, memoryCapabilities, KeyedDispatcher, PartitionBalancer };
export type { LeaseStore };
