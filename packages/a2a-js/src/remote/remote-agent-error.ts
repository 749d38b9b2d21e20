import { A2ABusError, formatMessage } from '@a2a-bus/core';

/**
 * One attempt on a remote HTTP A2A agent failed in a way another attempt may fix: it was
 * unreachable, answered with a server error, or did not answer in time. The bus retries it.
 */
export class RemoteAgentError extends A2ABusError {
  static readonly code = 'REMOTE_AGENT_FAILED';
  readonly agent: string;

  constructor(agent: string, problem: string, options: { cause?: unknown } = {}) {
    super(RemoteAgentError.code, formatMessage('a2a-js', `remote agent ${agent} ${problem}`), { ...options, isRetryable: true });
    this.agent = agent;
  }

  static override isInstance(error: unknown): error is RemoteAgentError {
    return A2ABusError.isInstance(error) && error.code === RemoteAgentError.code;
  }
}
