import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * An envelope is larger than the configured `maxEnvelopeBytes`. At publish nothing was sent;
 * a consumer dead-letters a foreign record of that size with this error, without decoding it.
 */
export class PayloadTooLargeError extends A2ABusError {
  static readonly code = 'PAYLOAD_TOO_LARGE';
  /** Encoded size in bytes. */
  readonly size: number;
  /** The limit it exceeds, in bytes. */
  readonly limit: number;
  readonly topic: string | undefined;

  constructor(scope: string | undefined, size: number, limit: number, options: { topic?: string; cause?: unknown } = {}) {
    const where = options.topic ? ` on ${options.topic}` : '';
    super(PayloadTooLargeError.code, formatMessage(scope, `envelope of ${size} bytes${where} exceeds the limit of ${limit} bytes (maxEnvelopeBytes)`), options);
    this.size = size;
    this.limit = limit;
    this.topic = options.topic;
  }

  static override isInstance(error: unknown): error is PayloadTooLargeError {
    return A2ABusError.isInstance(error) && error.code === PayloadTooLargeError.code;
  }
}
