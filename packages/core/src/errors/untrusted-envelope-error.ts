import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** Which trust check an envelope (or this bus itself) failed. */
export type TrustCheck = 'signature' | 'unknown-signer' | 'dispatch' | 'serve' | 'result' | 'replay';

/**
 * An envelope failed a trust check (see `TrustCheck`): under `enforce` it is dead-lettered
 * with this error and reaches no handler or caller. Also thrown at once when this bus's own
 * key may not do what it is asked to (serve or dispatch to a capability).
 */
export class UntrustedEnvelopeError extends A2ABusError {
  static readonly code = 'UNTRUSTED_ENVELOPE';
  readonly check: TrustCheck;

  constructor(check: TrustCheck, detail: string, options: { cause?: unknown } = {}) {
    super(UntrustedEnvelopeError.code, formatMessage('trust', `check "${check}" failed: ${detail}`), { ...options, isRetryable: false });
    this.check = check;
  }

  static override isInstance(error: unknown): error is UntrustedEnvelopeError {
    return A2ABusError.isInstance(error) && error.code === UntrustedEnvelopeError.code;
  }
}
