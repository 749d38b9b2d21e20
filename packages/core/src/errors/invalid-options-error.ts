import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** Options given to a factory or a call do not validate; `field` names the first offending one. */
export class InvalidOptionsError extends A2ABusError {
  static readonly code = 'INVALID_OPTIONS';
  readonly field: string;

  constructor(scope: string, field: string, problem: string, options: { cause?: unknown } = {}) {
    super(InvalidOptionsError.code, formatMessage(scope, `invalid option \`${field}\`: ${problem}`), options);
    this.field = field;
  }

  static override isInstance(error: unknown): error is InvalidOptionsError {
    return A2ABusError.isInstance(error) && error.code === InvalidOptionsError.code;
  }
}
