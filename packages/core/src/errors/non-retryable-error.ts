import { A2ABusError } from './a2a-bus-error.js';

/** Thrown by a worker's handler: the task fails at once, without retries. */
export class NonRetryableError extends A2ABusError {
  static readonly code = 'NON_RETRYABLE';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(NonRetryableError.code, message, options);
  }

  static override isInstance(error: unknown): error is NonRetryableError {
    return A2ABusError.isInstance(error) && error.code === NonRetryableError.code;
  }
}
