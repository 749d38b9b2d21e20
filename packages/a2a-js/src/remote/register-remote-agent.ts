import {
  A2ABusError,
  NonRetryableError,
  TaskRejectedError,
  textOfParts,
  type A2AAgentCard,
  type A2AArtifact,
  type A2AMessage,
  type AgentBus,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
} from '@a2a-bus/core';
import { Artifact, TaskState, type Message, type Task } from '@a2a-js/sdk';
import { ClientFactory, type Client, type RequestOptions } from '@a2a-js/sdk/client';
import { A2AError } from '@a2a-js/sdk/errors';
import { bindingHeaders } from '../binding.js';
import { codec } from '../codec.js';
import { RemoteAgentError } from './remote-agent-error.js';

export interface RemoteAgentOptions {
  /** Per attempt; a remote that has not answered by then fails the attempt (the bus retries). Default 30 s. */
  readonly timeoutMs?: number;
  /** Builds the SDK client (transports, interceptors, auth). Default `new ClientFactory()`. */
  readonly clientFactory?: ClientFactory;
  /** Card path under the URL; default `/.well-known/agent-card.json`. */
  readonly cardPath?: string;
  /**
   * Relay the remote's artifacts and status updates to bus subscribers as they come
   * (SendStreamingMessage), instead of one answer at the end. Default: when its card says it streams.
   */
  readonly streaming?: boolean;
  /** Sent with every call (e.g. `Authorization` for the remote). */
  readonly serviceParameters?: Readonly<Record<string, string>>;
}

/**
 * Makes an A2A agent served over HTTP (any A2A server: JSON-RPC or HTTP+JSON) a bus agent:
 * fetches its card, and serves each of its skills on the bus by calling it through the
 * official SDK client. Each attempt has a timeout; a remote that is down, answers 5xx or
 * times out fails the attempt and the bus retries it (then dead-letters it) like any
 * handler; an A2A error or a failed/rejected task from the remote is final. Every step is
 * in the bus's audit trail. Returns the card as registered.
 */
export async function registerRemoteAgent(bus: AgentBus, url: string, options: RemoteAgentOptions = {}): Promise<A2AAgentCard> {
  const factory = options.clientFactory ?? new ClientFactory();
  const client = await factory.createFromUrl(url, options.cardPath);
  const card = codec.cardToWire(await client.getAgentCard());
  const streaming = options.streaming ?? (card.capabilities as { streaming?: boolean } | undefined)?.streaming === true;
  const handler = remoteHandler(client, card.name, streaming, options);
  await bus.registerAgent(card, Object.fromEntries(card.skills.map((skill) => [skill.id, handler])));
  return card;
}

function remoteHandler(client: Client, name: string, streaming: boolean, options: RemoteAgentOptions): TaskHandler {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (ctx) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    // The remote keeps its own task ids: send the message without ours, in our context.
    const { taskId: _ours, ...message } = ctx.message;
    const request = { message: codec.messageFromWire({ ...message, contextId: ctx.workflowId }) } as never;
    const parameters = serviceParameters(ctx, options);
    // Canceled on the bus, or out of time: the remote task is canceled too (best effort) —
    // at once when its id is known, else as soon as the stream tells it.
    const remote = new RemoteTask(() => {
      if (remote.id) void client.cancelTask({ tenant: '', id: remote.id, metadata: undefined }, { serviceParameters: parameters }).catch(() => {});
    });
    const cancel = (): void => remote.cancel();
    ctx.signal.addEventListener('abort', cancel, { once: true });
    timeout.addEventListener('abort', cancel, { once: true });
    try {
      // A stream is not aborted on a bus cancel: the remote ends it with its canceled status.
      const result = streaming
        ? await relayStream(client, request, { signal: timeout, serviceParameters: parameters }, ctx, remote)
        : await client.sendMessage(request, { signal: AbortSignal.any([ctx.signal, timeout]), serviceParameters: parameters });
      return outcome(name, result);
    } catch (error) {
      if (A2ABusError.isInstance(error)) throw error;
      if (timeout.aborted) throw new RemoteAgentError(name, `did not answer within ${timeoutMs} ms`, { cause: error });
      if (error instanceof A2AError) throw new NonRetryableError(`remote agent ${name} refused: ${error.message}`, { cause: error });
      throw new RemoteAgentError(name, `failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
      timeout.removeEventListener('abort', cancel);
    }
  };
}

/** The remote's id for the task once known, and a cancel that waits for it if asked for before. */
class RemoteTask {
  id: string | undefined;
  private wanted = false;
  private readonly send: () => void;

  constructor(send: () => void) {
    this.send = send;
  }

  cancel(): void {
    this.wanted = true;
    if (this.id) this.send();
  }

  learn(id: string): void {
    if (this.id) return;
    this.id = id;
    if (this.wanted) this.send();
  }
}

/**
 * Streams the remote task and relays it to the bus as it goes: artifacts as artifacts,
 * working status messages as status updates. Resolves with the final task (its artifacts,
 * already relayed, left out) or the remote's reply message.
 */
async function relayStream(client: Client, request: never, options: RequestOptions, ctx: TaskContext, remote: RemoteTask): Promise<Message | Task> {
  let task: Task | undefined;
  for await (const event of client.sendMessageStream(request, options)) {
    const payload = event.payload;
    if (!payload) continue;
    switch (payload.$case) {
      case 'message':
        return payload.value;
      case 'task':
        remote.learn(payload.value.id);
        task = { ...payload.value, artifacts: [] };
        break;
      case 'statusUpdate': {
        remote.learn(payload.value.taskId);
        const status = payload.value.status;
        if (task && status) task = { ...task, status };
        if (status?.state === TaskState.TASK_STATE_WORKING && status.message) {
          const text = textOfParts(codec.messageToWire(status.message).parts);
          if (text) await ctx.status(text);
        }
        break;
      }
      case 'artifactUpdate': {
        const { artifact, append, lastChunk } = payload.value;
        if (artifact) await ctx.artifact(Artifact.toJSON(artifact) as A2AArtifact, { append, lastChunk });
        break;
      }
    }
  }
  if (!task) throw new Error('the stream ended without a task');
  return task;
}

function serviceParameters(ctx: TaskContext, options: RemoteAgentOptions): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [header, value] of Object.entries(ctx.headers)) {
    if (header.startsWith(bindingHeaders.serviceParameterPrefix)) forwarded[header.slice(bindingHeaders.serviceParameterPrefix.length)] = value;
  }
  return { ...forwarded, ...options.serviceParameters };
}

function outcome(name: string, result: Message | Task): TaskResult {
  if ('messageId' in result) return { message: codec.messageToWire(result) };
  const wire = codec.taskToWire(result);
  const message = wire.status.message ? ({ ...wire.status.message } as A2AMessage) : undefined;
  const reason = message ? textOfParts(message.parts) : 'no reason given';
  switch (result.status?.state) {
    case TaskState.TASK_STATE_COMPLETED:
      return { artifacts: wire.artifacts ?? [], ...(message ? { message } : {}) };
    case TaskState.TASK_STATE_INPUT_REQUIRED:
    case TaskState.TASK_STATE_AUTH_REQUIRED:
      return { state: 'input-required', artifacts: wire.artifacts ?? [], ...(message ? { message } : {}) };
    case TaskState.TASK_STATE_REJECTED:
      throw new TaskRejectedError(`remote agent ${name} rejected the task: ${reason}`);
    default:
      throw new NonRetryableError(`remote agent ${name} ended the task ${wire.status.state}: ${reason}`);
  }
}
