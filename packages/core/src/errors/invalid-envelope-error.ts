import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** An envelope was refused at publish: it does not match the envelope schema. Nothing was sent. */
export class InvalidEnvelopeError extends A2ABusError {
  static readonly code = 'INVALID_ENVELOPE';
  /** Dotted paths of the offending fields, e.g. `payload.parts.0`. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options: { cause?: unknown } = {}) {
    super(InvalidEnvelopeError.code, formatMessage(undefined, `invalid envelope: ${issues.join('; ')}`), options);
    this.issues = issues;
  }

  static override isInstance(error: unknown): error is InvalidEnvelopeError {
    return A2ABusError.isInstance(error) && error.code === InvalidEnvelopeError.code;
  }
}
