import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * The broker knows who we are but does not allow the operation on a resource (a key, a
 * subject, a topic or group outside the user's ACL). Not retryable. `resource` is what
 * was refused, `address` the broker.
 */
export class AuthorizationError extends A2ABusError {
  static readonly code = 'NOT_AUTHORIZED';
  readonly address: string;
  readonly resource: string;

  constructor(scope: string, address: string, resource: string, options: { cause?: unknown; detail?: string } = {}) {
    super(AuthorizationError.code, formatMessage(scope, `not authorized on ${resource} at ${address}${options.detail ? `: ${options.detail}` : ''}`), {
      cause: options.cause,
      isRetryable: false,
    });
    this.address = address;
    this.resource = resource;
  }

  static override isInstance(error: unknown): error is AuthorizationError {
    return A2ABusError.isInstance(error) && error.code === AuthorizationError.code;
  }
}
