import { AuthenticationError, AuthorizationError } from '@a2a-bus/core';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

const certificateFailure =
  /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/;

/** kafkajs nests the real error: retries exhausted wrap the last one, aggregates hold several. */
function* chain(error: unknown, depth = 0): Generator<Error> {
  if (!(error instanceof Error) || depth > 5) return;
  yield error;
  const nested = error as Error & { originalError?: unknown; errors?: unknown[] };
  yield* chain(nested.originalError, depth + 1);
  yield* chain(error.cause, depth + 1);
  for (const inner of Array.isArray(nested.errors) ? nested.errors : []) yield* chain(inner, depth + 1);
}

/**
 * The typed error for a refusal by Kafka's SASL, TLS or ACLs: `AuthenticationError` for a
 * failed SASL handshake or a broker certificate that does not verify, `AuthorizationError`
 * for `*_AUTHORIZATION_FAILED` (topic, group, cluster, transactional id). Undefined for
 * anything else. kafkajs puts no credentials in its errors; the address is `host:port`.
 */
export function securityErrorOf(error: unknown, address: string, resource?: string): AuthenticationError | AuthorizationError | undefined {
  for (const e of chain(error)) {
    if (AuthenticationError.isInstance(e) || AuthorizationError.isInstance(e)) return e;
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return new AuthenticationError('kafka', address, { cause: e, detail: 'SASL authentication failed (user name or password refused)' });
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && certificateFailure.test(code)) {
      return new AuthenticationError('kafka', address, { cause: e, detail: `the broker's TLS certificate does not verify (${code})` });
    }
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && type.endsWith('_AUTHORIZATION_FAILED')) {
      const what = type.slice(0, -'_AUTHORIZATION_FAILED'.length).toLowerCase().replace(/_/g, ' ');
      return new AuthorizationError('kafka', address, resource ? `${what} ${resource}` : what, { cause: e, detail: e.message });
    }
  }
  return undefined;
}

/**
 * kafkajs turns a FindCoordinator refusal (GROUP_AUTHORIZATION_FAILED) into
 * `KafkaJSGroupCoordinatorNotFound` and keeps the broker's error only in a debug log line.
 * After such a failure this asks once more, on a throwaway client that listens to that
 * line, and returns the broker's own error (or undefined when it was something else).
 */
export async function coordinatorRefusal(
  kafkaConfig: Omit<KafkaConfig, 'logLevel' | 'logCreator'>,
  groupId: string,
  timeoutMs: number,
): Promise<Error | undefined> {
  let refusal: Error | undefined;
  const kafka = new Kafka({
    ...kafkaConfig,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ log }) => {
        const error = (log as { error?: unknown }).error;
        if (log.message === 'Tried to find group coordinator' && error instanceof Error) refusal ??= error;
      },
  });
  const admin = kafka.admin();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await admin.connect();
        await admin.describeGroups([groupId]).catch(() => undefined);
      })(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
  const type = (refusal as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && type.endsWith('_AUTHORIZATION_FAILED') ? refusal : undefined;
}
