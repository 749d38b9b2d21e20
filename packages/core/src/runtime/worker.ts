import type { A2AArtifact, A2AMessage, A2AStreamResponse, A2ATask } from '../a2a/schema.js';
import { NonRetryableError } from '../errors/non-retryable-error.js';
import { ReplyTopicRefusedError } from '../errors/reply-topic-refused-error.js';
import { TaskRejectedError } from '../errors/task-rejected-error.js';
import type { Logger } from '../logger.js';
import type { Envelope } from '../envelope.js';
import type { DeadLetterNotice, Delivery, RetryPolicy } from '../transport.js';
import { agentText, artifactEvent, finalTask, statusEvent, type TaskStateName } from './a2a.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from './idempotency.js';
import { runtimeHeaders } from './topics.js';

/** What a handler gets for one task. */
export interface TaskContext {
  /** The request, an A2A message (its `taskId` and `contextId` are set). */
  readonly message: A2AMessage;
  readonly taskId: string;
  /** The workflow (A2A contextId, and the partition key of every step). */
  readonly workflowId: string;
  readonly capability: string;
  /** 1 on the first try; counts retries and redeliveries. */
  readonly attempt: number;
  /** Aborted when the task is canceled or this worker gives the task up. */
  readonly signal: AbortSignal;
  /** The request envelope's application headers (service parameters, caller identity). */
  readonly headers: Readonly<Record<string, string>>;
  /** Reports progress: a `working` status update carrying `text`. */
  status(text: string): Promise<void>;
  /** Emits an artifact (or a chunk of one with `append`); it is also part of the final task. */
  artifact(artifact: A2AArtifact | string, options?: { append?: boolean; lastChunk?: boolean }): Promise<void>;
  /** Dispatches the next step of this workflow and waits for its result. */
  dispatch(capability: string, message: A2AMessage | string, options?: { timeoutMs?: number }): Promise<A2ATask>;
}

/**
 * Returned by a handler: a string (one text artifact), artifacts and/or a closing agent
 * message, or nothing (the artifacts already emitted stand). Return
 * `{ state: 'input-required', message }` to ask the caller for more.
 */
export type TaskResult = void | string | { artifacts?: A2AArtifact[]; message?: A2AMessage; state?: 'completed' | 'input-required' };

export type TaskHandler = (context: TaskContext) => TaskResult | Promise<TaskResult>;

export interface WorkerDeps {
  readonly capability: string;
  readonly handler: TaskHandler;
  readonly retry: RetryPolicy;
  readonly store: IdempotencyStore;
  readonly logger: Logger;
  /** Publishes an event of a task to the audit trail, then to its caller. */
  emit(request: TaskRequest, event: A2AStreamResponse, marks?: EventMarks): Promise<unknown>;
  /** Whether events before the final task go anywhere (an audit trail, or a caller that streams); otherwise they are not made. */
  recordsProgress?(request: TaskRequest): boolean;
  /** Whether `replyTo` is a reply topic this worker may publish to (its namespace's reply scheme). */
  allowsReplyTo(replyTo: string): boolean;
  /** Dead-letters a request with the reason and terms it; nothing is published to its `replyTo`. */
  refuse(delivery: Delivery, reason: string, error: unknown): Promise<void>;
  /** The namespace, for the refusal's error. */
  readonly namespace: string;
  dispatchChild(parent: TaskRequest, capability: string, message: A2AMessage | string, timeoutMs?: number): Promise<A2ATask>;
}

/** What an event says about the attempt that emits it (headers on the audit trail). */
export interface EventMarks {
  /** This event starts attempt n. */
  readonly attempt?: number;
  /** This event ends the attempt without a final task. */
  readonly attemptEnd?: 'retry';
  /** The answer comes from the idempotency store: nothing ran. */
  readonly servedFromStore?: boolean;
}

/** A task request as the worker reads it off the log. */
export interface TaskRequest {
  readonly taskId: string;
  readonly workflowId: string;
  readonly message: A2AMessage;
  readonly replyTo: string | undefined;
  readonly deadline: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** The caller reads only the final task: no other event is sent to it. */
  readonly finalOnly: boolean;
  /** Number of children dispatched so far: child task ids derive from it, so a re-run reuses them. */
  children: number;
}

/**
 * A task running here, and its handler's signal: aborted on cancel, or when the delivery is
 * given up (the partition was lost, the member is closing). The signal is made when the
 * handler first reads it; most handlers never do, and an `AbortController` with a listener on
 * the delivery's signal was a tenth of a dispatch's CPU. By hand, not `AbortSignal.any`: that
 * costs about 4x as much per task, in weak references the GC chases.
 */
class RunningTask {
  canceled = false;
  private controller: AbortController | undefined;
  private givenUp: (() => void) | undefined;
  private ended = false;
  private readonly delivery: AbortSignal;

  constructor(delivery: AbortSignal) {
    this.delivery = delivery;
  }

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const delivery = this.delivery;
    if (delivery.aborted) controller.abort(delivery.reason);
    else if (this.canceled) controller.abort(new Error('canceled'));
    else if (!this.ended) {
      // The delivery's signal may be its partition's, which lives long: listen only while the attempt runs.
      this.givenUp = () => controller.abort(delivery.reason);
      delivery.addEventListener('abort', this.givenUp, { once: true });
    }
    return controller.signal;
  }

  cancel(): void {
    this.canceled = true;
    this.controller?.abort(new Error('canceled'));
  }

  /** The attempt is over: stop listening to the delivery. */
  end(): void {
    this.ended = true;
    if (this.givenUp) this.delivery.removeEventListener('abort', this.givenUp);
  }
}

/** Answers kept for resending (see `CapabilityWorker.unanswered`). */
const UNANSWERED_LIMIT = 10_000;

/** Serves one capability: runs the handler per task request with the A2A task lifecycle. */
export class CapabilityWorker {
  private readonly running = new Map<string, RunningTask>();
  /** Task ids canceled before they started here; bounded. */
  private readonly canceledEarly = new Set<string>();
  private readonly deps: WorkerDeps;
  /** The default store, asked without promises (not a subclass: it may override `get` and `set`). */
  private readonly memoryStore: MemoryIdempotencyStore | undefined;
  /**
   * Final answers this worker could not send (the publish failed), by task id; bounded. The
   * failed delivery is retried, and the retry sends the answer again instead of running the
   * handler a second time. (Completed and rejected tasks are in the idempotency store anyway.)
   */
  private readonly unanswered = new Map<string, { readonly task: A2ATask; readonly state: TaskStateName; readonly term: boolean }>();

  constructor(deps: WorkerDeps) {
    this.deps = deps;
    this.memoryStore = deps.store.constructor === MemoryIdempotencyStore ? (deps.store as MemoryIdempotencyStore) : undefined;
  }

  /** Tasks running here now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** A cancel request for any task: abort it if it runs here, or skip it when it arrives. */
  cancel(taskId: string): void {
    const running = this.running.get(taskId);
    if (running) {
      running.cancel();
      return;
    }
    this.canceledEarly.add(taskId);
    if (this.canceledEarly.size > 10_000) this.canceledEarly.delete(this.canceledEarly.values().next().value!);
  }

  /** The transport handler for the capability's task topic. */
  readonly onDelivery = async (delivery: Delivery): Promise<void> => {
    const request = readRequest(delivery.envelope);
    if (!request) {
      delivery.term('not a task request');
      return;
    }
    const { deps } = this;
    if (request.replyTo !== undefined && !deps.allowsReplyTo(request.replyTo)) {
      // Answering would write task events wherever a request says: another namespace, the audit trail.
      const error = new ReplyTopicRefusedError(request.replyTo, deps.namespace);
      return deps.refuse(delivery, `reply topic refused: ${request.replyTo}`, error);
    }
    const done = this.memoryStore ? this.memoryStore.getNow(request.taskId) : await deps.store.get(request.taskId);
    if (done) {
      // A duplicate of a finished task: answer again, run nothing.
      await deps.emit(request, { task: done }, { servedFromStore: true });
      return;
    }
    const unanswered = this.unanswered.get(request.taskId);
    if (unanswered) {
      // Run already, its answer lost on the way: send it again (a failure here is retried as well).
      await deps.emit(request, { task: unanswered.task });
      this.unanswered.delete(request.taskId);
      if (unanswered.term) delivery.term(unanswered.state);
      return;
    }
    if (this.canceledEarly.delete(request.taskId)) return this.finish(request, 'canceled', [], agentText('canceled before it started'));
    if (request.deadline !== undefined && request.deadline < Date.now()) {
      return this.finish(request, 'failed', [], agentText('deadline passed before the task started'));
    }
    if (deps.recordsProgress?.(request) ?? true) await deps.emit(request, statusEvent(taskRef(request), 'working'), { attempt: delivery.attempt });
    // Given up while the event was on its way (the partition was lost: another member runs
    // this task now): do not start the handler. The trail shows this attempt as interrupted.
    if (delivery.signal.aborted) return;

    const task = new RunningTask(delivery.signal);
    this.running.set(request.taskId, task);
    const artifacts: A2AArtifact[] = [];
    try {
      const result = await deps.handler(this.context(request, delivery.attempt, task, artifacts));
      if (task.canceled) return await this.finish(request, 'canceled', artifacts, agentText('canceled'));
      const { state, message } = collect(result, artifacts);
      await this.finish(request, state, artifacts, message);
    } catch (error) {
      if (task.canceled) return await this.finish(request, 'canceled', artifacts, agentText('canceled'));
      if (delivery.signal.aborted) {
        // Given up (the partition was lost or the member is closing): another member runs the
        // task now. Not a failed attempt — no 'failed' answer, no retry event — the record is theirs.
        deps.logger.info({ taskId: request.taskId, attempt: delivery.attempt }, 'task attempt given up: its delivery went to another member');
        throw error;
      }
      const reason = error instanceof Error ? error.message : String(error);
      if (TaskRejectedError.isInstance(error)) return await this.finish(request, 'rejected', artifacts, agentText(reason), delivery);
      if (NonRetryableError.isInstance(error)) return await this.finish(request, 'failed', artifacts, agentText(reason), delivery);
      if (delivery.attempt >= deps.retry.maxAttempts) {
        // Last attempt: the caller learns now; rethrowing lets the transport dead-letter the request.
        await this.finish(request, 'failed', artifacts, agentText(`failed after ${delivery.attempt} attempts: ${reason}`));
        throw error;
      }
      deps.logger.warn({ err: error, taskId: request.taskId, attempt: delivery.attempt }, 'task attempt failed; retrying');
      await deps.emit(request, statusEvent(taskRef(request), 'working', agentText(`attempt ${delivery.attempt} failed: ${reason}; retrying`)), {
        attemptEnd: 'retry',
      });
      throw error;
    } finally {
      task.end();
      this.running.delete(request.taskId);
    }
  };

  /**
   * The transport dead-lettered a request no attempt answered: a crash loop (its holders kept
   * dying, so the handler never gave a verdict). Its caller would otherwise wait for its
   * timeout: answer 'failed' now — or with the stored answer, when an attempt completed the
   * task and died before acknowledging it. Other causes are answered already (the last failed
   * attempt) or carry no request to answer.
   */
  readonly onDeadLetter = async (notice: DeadLetterNotice): Promise<void> => {
    if (notice.cause !== 'crash-loop' || !notice.envelope) return;
    const request = readRequest(notice.envelope);
    if (!request || (request.replyTo !== undefined && !this.deps.allowsReplyTo(request.replyTo))) return;
    const done = await this.deps.store.get(request.taskId);
    if (done) {
      await this.deps.emit(request, { task: done }, { servedFromStore: true });
      return;
    }
    const where = notice.deadLetterTopic === false ? 'dropped' : `dead-lettered to ${notice.deadLetterTopic}`;
    this.deps.logger.warn({ taskId: request.taskId, attempts: notice.attempts }, 'task dead-lettered as a crash loop; answering its caller');
    await this.finish(request, 'failed', [], agentText(`crash loop: delivered ${notice.attempts} times and never answered (${where})`));
  };

  private context(request: TaskRequest, attempt: number, task: RunningTask, artifacts: A2AArtifact[]): TaskContext {
    const { deps } = this;
    return {
      message: request.message,
      taskId: request.taskId,
      workflowId: request.workflowId,
      capability: deps.capability,
      attempt,
      get signal() {
        return task.signal;
      },
      headers: request.headers,
      status: async (text) => {
        await deps.emit(request, statusEvent(taskRef(request), 'working', agentText(text)));
      },
      artifact: async (input, options = {}) => {
        const artifact = typeof input === 'string' ? textArtifact(`${request.taskId}-${artifacts.length + 1}`, input) : input;
        artifacts.push(artifact);
        await deps.emit(request, artifactEvent(taskRef(request), artifact, options.append ?? false, options.lastChunk ?? true));
      },
      dispatch: (capability, message, options = {}) => deps.dispatchChild(request, capability, message, options.timeoutMs),
    };
  }

  /** Ends the task: remembers a completion, emits the final task; terms the delivery when given. */
  private async finish(request: TaskRequest, state: TaskStateName, artifacts: A2AArtifact[], message?: A2AMessage, termDelivery?: Delivery): Promise<void> {
    const task = finalTask(taskRef(request), state, artifacts, [request.message], message);
    if (state === 'completed' || state === 'rejected') {
      if (this.memoryStore) this.memoryStore.setNow(request.taskId, task);
      else await this.deps.store.set(request.taskId, task);
    }
    try {
      await this.deps.emit(request, { task });
    } catch (error) {
      if (state !== 'completed' && state !== 'rejected') {
        if (this.unanswered.size >= UNANSWERED_LIMIT) this.unanswered.delete(this.unanswered.keys().next().value!);
        this.unanswered.set(request.taskId, { task, state, term: termDelivery !== undefined });
      }
      this.deps.logger.warn(
        { err: error, taskId: request.taskId, state },
        "could not send the task's answer; the request is delivered again and the answer sent then, without running the task again",
      );
      throw error;
    }
    termDelivery?.term(state);
  }
}

function readRequest(envelope: Envelope): TaskRequest | undefined {
  if (envelope.kind !== 'message') return undefined;
  const taskId = envelope.headers?.[runtimeHeaders.taskId] ?? envelope.payload.taskId;
  if (!taskId) return undefined;
  return {
    taskId,
    workflowId: envelope.key,
    message: envelope.payload,
    replyTo: envelope.replyTo,
    deadline: envelope.deadline ? Date.parse(envelope.deadline) : undefined,
    headers: envelope.headers ?? {},
    finalOnly: envelope.headers?.[runtimeHeaders.replies] === 'final',
    children: 0,
  };
}

function taskRef(request: TaskRequest): { id: string; contextId: string } {
  return { id: request.taskId, contextId: request.workflowId };
}

export function textArtifact(artifactId: string, text: string, name?: string): A2AArtifact {
  return { artifactId, ...(name ? { name } : {}), parts: [{ text }] };
}

function collect(result: TaskResult, artifacts: A2AArtifact[]): { state: TaskStateName; message?: A2AMessage } {
  if (result === undefined) return { state: 'completed' };
  if (typeof result === 'string') {
    artifacts.push(textArtifact(`result-${artifacts.length + 1}`, result, 'result'));
    return { state: 'completed' };
  }
  artifacts.push(...(result.artifacts ?? []));
  return { state: result.state ?? 'completed', ...(result.message ? { message: result.message } : {}) };
}
