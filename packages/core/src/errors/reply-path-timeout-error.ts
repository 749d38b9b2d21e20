import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** A bus could not prove its reply subscription live (its probe did not come back) in time. */
export class ReplyPathTimeoutError extends A2ABusError {
  static readonly code = 'REPLY_PATH_TIMEOUT';
  readonly topic: string;

  constructor(topic: string, timeoutMs: number) {
    super(ReplyPathTimeoutError.code, formatMessage('runtime', `the reply subscription on ${topic} was not live within ${timeoutMs} ms`), {
      isRetryable: true,
    });
    this.topic = topic;
  }

  static override isInstance(error: unknown): error is ReplyPathTimeoutError {
    return A2ABusError.isInstance(error) && error.code === ReplyPathTimeoutError.code;
  }
}
