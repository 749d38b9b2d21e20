import { AuthenticationError, AuthorizationError } from '@a2a-bus/core';
import { TransportLifecycle } from '@a2a-bus/core/adapter';
import { Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';

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
export function createRedisClient(url: string, connectTimeoutMs: number, connectionName: string, autoPipelining: boolean, tls?: ConnectionOptions): Redis {
  return new Redis(url, {
    // With rediss:// and no options ioredis uses TLS with the system's CAs.
    ...(tls ? { tls } : {}),
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
  let refuse: ((error: Error) => void) | undefined;
  const refused = new Promise<never>((_, reject) => {
    refuse = reject;
  });
  const onError = (error: unknown): void => {
    lastError = error;
    // Wrong credentials or an untrusted certificate fail the same way every time: fail now, not after the timeout.
    const security = securityErrorOf(error, url);
    if (security) refuse?.(security);
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
    refused.catch(() => undefined);
    await lifecycle.connect(
      () => Promise.race([attempt(), refused]),
      () => client.disconnect(),
      (cause) => securityErrorOf(cause, url),
    );
  } finally {
    client.off('error', onError);
  }
}

const authenticationFailure = /^(WRONGPASS|NOAUTH)\b|invalid username-password|user is disabled/;
const authorizationFailure = /^NOPERM\b/;
const certificateFailure =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/;

/**
 * The typed error for a refusal by Redis's ACLs or TLS: `AuthenticationError` for wrong
 * credentials or a server certificate that does not verify, `AuthorizationError` for a
 * command on a key or channel the user may not touch. Undefined for anything else.
 * Messages name the address, never the credentials (Redis's replies carry none).
 */
export function securityErrorOf(error: unknown, url: string, resource?: string): AuthenticationError | AuthorizationError | undefined {
  withoutCredentials(error);
  if (AuthenticationError.isInstance(error) || AuthorizationError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : '';
  const code = (error as { code?: unknown } | null)?.code;
  const address = describeAddress(url);
  if (authenticationFailure.test(message))
    return new AuthenticationError(SCOPE, address, { cause: error, detail: 'the server refused the user name or password' });
  if (typeof code === 'string' && certificateFailure.test(code))
    return new AuthenticationError(SCOPE, address, { cause: error, detail: `the server's TLS certificate does not verify (${code})` });
  if (authorizationFailure.test(message)) return new AuthorizationError(SCOPE, address, resource ?? 'a key or channel', { cause: error, detail: message });
  return undefined;
}

/**
 * ioredis attaches the failed command to its errors: for AUTH and HELLO that is the user
 * name and password. Blanks them in place, before the error reaches a log or a `cause`.
 */
export function withoutCredentials(error: unknown): unknown {
  const command = (error as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (command && typeof command.name === 'string' && /^(auth|hello)$/i.test(command.name) && Array.isArray(command.args)) {
    command.args = command.args.map(() => '[redacted]');
  }
  return error;
}
