import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * The broker did not answer within the connect timeout, or refused the connection. `address`
 * is what was tried (never with credentials); the message says how long it actually waited.
 */
export class BrokerUnreachableError extends A2ABusError {
  static readonly code = 'BROKER_UNREACHABLE';
  readonly address: string;
  /** How long the attempt ran before it failed. */
  readonly waitedMs: number;

  constructor(scope: string, address: string, timeoutMs: number, options: { cause?: unknown; waitedMs?: number } = {}) {
    const waitedMs = options.waitedMs ?? timeoutMs;
    const reason =
      waitedMs >= timeoutMs ? `no answer within ${timeoutMs} ms` : `failed after ${waitedMs} ms (limit ${timeoutMs} ms)${describeCause(options.cause)}`;
    super(BrokerUnreachableError.code, formatMessage(scope, `cannot reach ${address}: ${reason}`), { cause: options.cause, isRetryable: true });
    this.address = address;
    this.waitedMs = waitedMs;
  }

  static override isInstance(error: unknown): error is BrokerUnreachableError {
    return A2ABusError.isInstance(error) && error.code === BrokerUnreachableError.code;
  }
}

function describeCause(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : undefined;
  return message ? `: ${message}` : '';
}
