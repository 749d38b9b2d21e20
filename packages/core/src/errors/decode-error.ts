import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** Bytes read from a broker are not a valid envelope. Consumers dead-letter them and go on. */
export class DecodeError extends A2ABusError {
  static readonly code = 'DECODE_FAILED';
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(DecodeError.code, formatMessage(undefined, `cannot decode envelope: ${reason}`), options);
  }

  static override isInstance(error: unknown): error is DecodeError {
    return A2ABusError.isInstance(error) && error.code === DecodeError.code;
  }
}
