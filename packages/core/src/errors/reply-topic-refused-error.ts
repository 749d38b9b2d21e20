import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * A task request named a `replyTo` that is not a reply topic of the worker's namespace (an
 * audit, registry or task topic, another namespace, anything else). The worker publishes
 * nothing there: it dead-letters the request with this error instead.
 */
export class ReplyTopicRefusedError extends A2ABusError {
  static readonly code = 'REPLY_TOPIC_REFUSED';
  readonly replyTo: string;
  readonly namespace: string;

  constructor(replyTo: string, namespace: string) {
    super(ReplyTopicRefusedError.code, formatMessage('runtime', `reply topic "${replyTo}" refused: not a reply topic of namespace "${namespace}"`));
    this.replyTo = replyTo;
    this.namespace = namespace;
  }

  static override isInstance(error: unknown): error is ReplyTopicRefusedError {
    return A2ABusError.isInstance(error) && error.code === ReplyTopicRefusedError.code;
  }
}
