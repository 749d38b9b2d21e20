import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** The broker did not answer within the connect timeout. `address` is what was tried. */
export class BrokerUnreachableError extends A2ABusError {
  static readonly code = 'BROKER_UNREACHABLE';
  readonly address: string;

  constructor(scope: string, address: string, timeoutMs: number, options: { cause?: unknown } = {}) {
    super(
      BrokerUnreachableError.code,
      formatMessage(scope, `cannot reach ${address} within ${timeoutMs} ms`),
      { ...options, isRetryable: true },
    );
    this.address = address;
  }

  static override isInstance(error: unknown): error is BrokerUnreachableError {
    return A2ABusError.isInstance(error) && error.code === BrokerUnreachableError.code;
  }
}
