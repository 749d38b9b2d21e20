import type { A2AStreamResponse, A2ATask } from '../a2a/schema.js';
import { TaskError } from '../errors/task-error.js';
import { TaskTimeoutError } from '../errors/task-timeout-error.js';
import type { Envelope } from '../envelope.js';
import { isFinal, stateName, textOfParts } from './a2a.js';

/**
 * One dispatch waiting for its events. Events arrive on the caller's reply topic; a streaming
 * dispatch queues them for its reader, and the final task settles `result`.
 *
 * Per dispatch it allocates little (a busy caller makes tens of thousands a second): `result`
 * is made when first read (a stream never reads it), a dispatch that does not stream keeps
 * no events, and the end is told to its owner directly instead of through promise reactions.
 */
export class PendingTask {
  readonly taskId: string;
  private settled: Promise<A2ATask> | undefined;
  private resolveResult: ((task: A2ATask) => void) | undefined;
  private rejectResult: ((error: unknown) => void) | undefined;
  private queue: A2AStreamResponse[] | undefined;
  private wakeReader: (() => void) | undefined;
  private ended = false;
  private completed: A2ATask | undefined;
  private failed = false;
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;
  private readonly onEnd: ((pending: PendingTask) => void) | undefined;
  private afterEnd: (() => void) | undefined;

  /** `keepEvents`: queue the events for `events()` (a streaming dispatch); otherwise only the final task counts. */
  constructor(taskId: string, options: { keepEvents?: boolean; onEnd?: (pending: PendingTask) => void } = {}) {
    this.taskId = taskId;
    this.onEnd = options.onEnd;
    if (options.keepEvents ?? true) this.queue = [];
  }

  /** Settles with the completed task, or rejects with why the task did not complete. */
  get result(): Promise<A2ATask> {
    if (!this.settled) {
      if (!this.ended) {
        this.settled = new Promise<A2ATask>((resolve, reject) => {
          this.resolveResult = resolve;
          this.rejectResult = reject;
        });
      } else if (this.failed) this.settled = Promise.reject(this.failure);
      else this.settled = Promise.resolve(this.completed!);
    }
    return this.settled;
  }

  /** From now on, queue events for `events()` (a stream joining a dispatch of the same task). */
  keepEvents(): void {
    this.queue ??= [];
  }

  /** Runs `cleanup` once, when the task ends (now, if it has). */
  whenEnded(cleanup: () => void): void {
    if (this.ended) {
      cleanup();
      return;
    }
    const before = this.afterEnd;
    this.afterEnd = before
      ? () => {
          before();
          cleanup();
        }
      : cleanup;
  }

  /** Fails with `TaskTimeoutError` unless a final event came first. */
  startTimer(timeoutMs: number, onTimeout: () => void): void {
    if (this.ended) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fail(new TaskTimeoutError(this.taskId, timeoutMs));
      onTimeout();
    }, timeoutMs);
  }

  /** Takes one event from the reply topic. Returns true when the task is over. */
  accept(event: A2AStreamResponse): boolean {
    if (this.ended) return true;
    if (this.queue) {
      this.queue.push(event);
      this.wake();
    }
    if (!('task' in event)) return false;
    const task = event.task;
    if (!isFinal(task.status.state)) return false;
    const state = stateName(task.status.state) ?? task.status.state;
    if (state === 'completed') {
      this.completed = task;
      this.end();
      this.resolveResult?.(task);
    } else {
      const reason = task.status.message ? textOfParts(task.status.message.parts) : 'no reason given';
      this.fail(new TaskError(task.id, state, reason, task));
    }
    return true;
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.failed = true;
    this.failure = error;
    this.end();
    this.rejectResult?.(error);
  }

  /** The events as they come, ending after the final one; throws what `result` rejects with. */
  async *events(): AsyncGenerator<A2AStreamResponse> {
    this.keepEvents();
    const queue = this.queue!;
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.failed) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    this.wake();
    this.onEnd?.(this);
    const afterEnd = this.afterEnd;
    this.afterEnd = undefined;
    afterEnd?.();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }
}

/** The dispatches of one bus instance, by task id. */
export class PendingTasks {
  private readonly byTask = new Map<string, PendingTask>();
  private readonly ended = (pending: PendingTask): void => {
    if (this.byTask.get(pending.taskId) === pending) this.byTask.delete(pending.taskId);
  };

  /** A new dispatch; `keepEvents` for a stream, whose reader wants every event. */
  add(taskId: string, keepEvents = true): PendingTask {
    const pending = new PendingTask(taskId, { keepEvents, onEnd: this.ended });
    this.byTask.set(taskId, pending);
    return pending;
  }

  get(taskId: string): PendingTask | undefined {
    return this.byTask.get(taskId);
  }

  /** Routes a reply-topic envelope to its dispatch; replies for unknown tasks are dropped. */
  route(envelope: Envelope): void {
    if (envelope.kind !== 'stream-response' || !envelope.correlationId) return;
    this.byTask.get(envelope.correlationId)?.accept(envelope.payload);
  }

  failAll(error: unknown): void {
    for (const pending of this.byTask.values()) pending.fail(error);
  }
}
