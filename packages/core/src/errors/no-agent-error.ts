import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** `dispatch` found no live agent serving the capability (and was not asked to wait for one). */
export class NoAgentError extends A2ABusError {
  static readonly code = 'NO_AGENT';
  readonly capability: string;

  constructor(capability: string) {
    super(
      NoAgentError.code,
      formatMessage('runtime', `no live agent serves "${capability}"; start one, or dispatch with { whenNoAgent: 'enqueue' } to wait for it`),
    );
    this.capability = capability;
  }

  static override isInstance(error: unknown): error is NoAgentError {
    return A2ABusError.isInstance(error) && error.code === NoAgentError.code;
  }
}
