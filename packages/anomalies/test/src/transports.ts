import type { Transport } from '@a2a-bus/core';
import { createKafkaTransport } from '@a2a-bus/kafka';
import { createMemoryTransport } from '@a2a-bus/memory';
import { createNatsTransport } from '@a2a-bus/nats';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';

/** A transport described as data, so a child process can build the same one. */
export type TransportSpec =
  | { readonly backend: 'redis-streams'; readonly options: Parameters<typeof createRedisStreamsTransport>[0] }
  | { readonly backend: 'nats'; readonly options: Parameters<typeof createNatsTransport>[0] }
  | { readonly backend: 'memory'; readonly options: Parameters<typeof createMemoryTransport>[0] }
  | { readonly backend: 'kafka'; readonly options: Parameters<typeof createKafkaTransport>[0] };

export function buildTransport(spec: TransportSpec, extra: Record<string, unknown> = {}): Transport {
  switch (spec.backend) {
    case 'redis-streams':
      return createRedisStreamsTransport({ ...spec.options, ...extra });
    case 'nats':
      return createNatsTransport({ ...spec.options, ...extra });
    case 'memory':
      return createMemoryTransport({ ...spec.options, ...extra });
    case 'kafka':
      return createKafkaTransport({ ...spec.options, ...extra });
  }
}
