import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * The broker refused the credentials (wrong password, unknown user, bad certificate).
 * Not retryable: the same credentials fail the same way. `address` names the broker,
 * never the secret.
 */
export class AuthenticationError extends A2ABusError {
  static readonly code = 'AUTHENTICATION_FAILED';
  readonly address: string;

  constructor(scope: string, address: string, options: { cause?: unknown; detail?: string } = {}) {
    super(AuthenticationError.code, formatMessage(scope, `authentication failed at ${address}${options.detail ? `: ${options.detail}` : ''}`), {
      cause: options.cause,
      isRetryable: false,
    });
    this.address = address;
  }

  static override isInstance(error: unknown): error is AuthenticationError {
    return A2ABusError.isInstance(error) && error.code === AuthenticationError.code;
  }
}
