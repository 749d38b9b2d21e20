import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** The backend did not durably accept a publish. The envelope may or may not be stored: retry with the same id (backends deduplicate by id where they can). */
export class PublishError extends A2ABusError {
  static readonly code = 'PUBLISH_FAILED';
  readonly topic: string;

  constructor(scope: string, topic: string, options: { cause?: unknown } = {}) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(PublishError.code, formatMessage(scope, `publish to ${topic} failed${reason}`), { ...options, isRetryable: true });
    this.topic = topic;
  }

  static override isInstance(error: unknown): error is PublishError {
    return A2ABusError.isInstance(error) && error.code === PublishError.code;
  }
}
