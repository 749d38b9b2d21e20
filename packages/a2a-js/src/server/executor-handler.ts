import {
  NonRetryableError,
  TaskRejectedError,
  textOfParts,
  type A2AArtifact,
  type A2AMessage,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
} from '@a2a-bus/core';
import { Artifact, Message, SendMessageRequest, TaskState, type TaskStatus } from '@a2a-js/sdk';
import {
  DefaultExecutionEventBus,
  RequestContext,
  ServerCallContext,
  STATE_HEADERS_KEY,
  UnauthenticatedUser,
  type AgentExecutionEvent,
  type AgentExecutor,
  type User,
} from '@a2a-js/sdk/server';
import { bindingHeaders } from '../binding.js';

class BusCaller implements User {
  readonly userName: string;
  constructor(userName: string) {
    this.userName = userName;
  }
  get isAuthenticated(): boolean {
    return true;
  }
}

/**
 * A bus `TaskHandler` that runs an `@a2a-js/sdk` `AgentExecutor` unchanged. Each bus task
 * request becomes a `RequestContext` (the caller's identity and service parameters from the
 * envelope are in its `ServerCallContext`); what the executor publishes on its
 * `ExecutionEventBus` becomes bus records in the order published: artifact updates as
 * artifacts, working status messages as status updates, and the final status (or a reply
 * `Message`) as the task's end. A bus cancel aborts the task and calls `executor.cancelTask`.
 */
export function executorHandler(executor: AgentExecutor): TaskHandler {
  return async (ctx) => {
    const eventBus = new DefaultExecutionEventBus();
    const outcome = new ExecutionOutcome(ctx);
    eventBus.on('event', (event) => outcome.take(event));
    const onCancel = (): void => void executor.cancelTask(ctx.taskId, eventBus).catch(() => {});
    ctx.signal.addEventListener('abort', onCancel, { once: true });
    try {
      await executor.execute(requestContext(ctx), eventBus);
      return await outcome.result();
    } finally {
      ctx.signal.removeEventListener('abort', onCancel);
      eventBus.removeAllListeners();
    }
  };
}

function requestContext(ctx: TaskContext): RequestContext {
  const caller = ctx.headers[bindingHeaders.caller];
  const tenant = ctx.headers[bindingHeaders.tenant];
  const version = ctx.headers[`${bindingHeaders.serviceParameterPrefix}a2a-version`];
  const serverContext = new ServerCallContext({
    user: caller ? new BusCaller(caller) : new UnauthenticatedUser(),
    requestedVersion: version ?? '1.0',
    state: new Map([[STATE_HEADERS_KEY, { ...ctx.headers }]]),
    ...(tenant ? { tenant } : {}),
  });
  const request = SendMessageRequest.fromJSON({ message: ctx.message });
  return new RequestContext(request, ctx.taskId, ctx.workflowId, serverContext);
}

/** Turns executor events into bus emits (in order) and remembers how the task ended. */
class ExecutionOutcome {
  private readonly ctx: TaskContext;
  private emitting: Promise<void> = Promise.resolve();
  private finalStatus: TaskStatus | undefined;
  private reply: Message | undefined;

  constructor(ctx: TaskContext) {
    this.ctx = ctx;
  }

  /** Events arrive synchronously; their emits are chained so the log keeps their order. */
  take(event: AgentExecutionEvent): void {
    const { ctx } = this;
    switch (event.kind) {
      case 'artifactUpdate': {
        const { artifact, append, lastChunk } = event.data;
        if (artifact) this.chain(() => ctx.artifact(Artifact.toJSON(artifact) as A2AArtifact, { append, lastChunk }));
        break;
      }
      case 'statusUpdate':
        this.status(event.data.status);
        break;
      case 'task':
        this.status(event.data.status);
        break;
      case 'message':
        this.reply = event.data;
        break;
    }
  }

  async result(): Promise<TaskResult> {
    await this.emitting;
    if (this.reply) return { message: Message.toJSON(this.reply) as A2AMessage };
    const status = this.finalStatus;
    const message = status?.message ? (Message.toJSON(status.message) as A2AMessage) : undefined;
    const reason = message ? textOfParts(message.parts) : 'no reason given';
    switch (status?.state) {
      case TaskState.TASK_STATE_FAILED:
        throw new NonRetryableError(reason); // the agent's own verdict: retrying would not change it
      case TaskState.TASK_STATE_REJECTED:
        throw new TaskRejectedError(reason);
      case TaskState.TASK_STATE_INPUT_REQUIRED:
      case TaskState.TASK_STATE_AUTH_REQUIRED:
        return { state: 'input-required', ...(message ? { message } : {}) };
      default:
        // completed, canceled (the worker sees its own abort), or no final status at all
        return message ? { message } : undefined;
    }
  }

  private status(status: TaskStatus | undefined): void {
    if (!status) return;
    if (status.state === TaskState.TASK_STATE_WORKING || status.state === TaskState.TASK_STATE_SUBMITTED) {
      const text = status.message ? textOfParts((Message.toJSON(status.message) as A2AMessage).parts) : '';
      if (text) this.chain(() => this.ctx.status(text));
      return;
    }
    this.finalStatus = status;
  }

  private chain(emit: () => Promise<void>): void {
    this.emitting = this.emitting.then(emit);
  }
}
