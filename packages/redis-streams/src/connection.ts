import { TransportLifecycle } from '@a2a-bus/core/adapter';
import { Redis } from 'ioredis';

export const SCOPE = 'redis-streams';

/** `host:port` for error messages, without credentials. */
export function describeAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}`;
  } catch {
    return url;
  }
}

/**
 * A client that connects only when asked. Once connected it reconnects after a broker
 * restart with a capped backoff; a command issued while Redis is away fails after a bounded
 * number of reconnect attempts instead of waiting forever.
 */
export function createRedisClient(url: string, connectTimeoutMs: number, connectionName: string, autoPipelining: boolean): Redis {
  return new Redis(url, {
    lazyConnect: true,
    protocol: 2,
    connectionName,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    // Commands issued in the same tick (parallel publishes, XACKs) go out as one write.
    enableAutoPipelining: autoPipelining,
  });
}

/**
 * Connects `client`, or rejects within `timeoutMs` with `BrokerUnreachableError` naming the
 * address, leaving the client disconnected (ioredis would otherwise retry forever).
 */
export async function connectWithin(client: Redis, url: string, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  const lifecycle = new TransportLifecycle({ scope: SCOPE, address: describeAddress(url), connectTimeoutMs: timeoutMs });
  let lastError: unknown;
  const onError = (error: unknown): void => {
    lastError = error;
  };
  client.on('error', onError);
  const attempt = async (): Promise<void> => {
    try {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      else await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    } catch (error) {
      // ioredis rejects with "Connection is closed"; the socket's own error says why.
      throw lastError ?? error;
    }
  };
  try {
    await lifecycle.connect(attempt, () => client.disconnect());
  } finally {
    client.off('error', onError);
  }
}
