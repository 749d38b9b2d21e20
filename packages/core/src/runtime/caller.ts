import type { A2AStreamResponse, A2ATask } from '../a2a/schema.js';
import { TaskError } from '../errors/task-error.js';
import { TaskTimeoutError } from '../errors/task-timeout-error.js';
import type { Envelope } from '../envelope.js';
import { isFinal, stateName, textOfParts } from './a2a.js';

/**
 * One dispatch waiting for its events. Events arrive on the caller's reply topic; they are
 * queued for a streaming reader and the final task settles `result`.
 */
export class PendingTask {
  readonly taskId: string;
  readonly result: Promise<A2ATask>;
  private resolveResult!: (task: A2ATask) => void;
  private rejectResult!: (error: unknown) => void;
  private readonly queue: A2AStreamResponse[] = [];
  private wakeReader: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private timer: NodeJS.Timeout | undefined;

  constructor(taskId: string) {
    this.taskId = taskId;
    this.result = new Promise<A2ATask>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // A caller that only streams never awaits `result`; its failure is reported by the stream.
    this.result.catch(() => {});
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
    this.push(event);
    if (!('task' in event)) return false;
    const task = event.task;
    if (!isFinal(task.status.state)) return false;
    const state = stateName(task.status.state) ?? task.status.state;
    if (state === 'completed') this.settle(() => this.resolveResult(task));
    else {
      const reason = task.status.message ? textOfParts(task.status.message.parts) : 'no reason given';
      this.fail(new TaskError(task.id, state, reason, task));
    }
    return true;
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = error;
    this.settle(() => this.rejectResult(error));
  }

  /** The events as they come, ending after the final one; throws what `result` rejects with. */
  async *events(): AsyncGenerator<A2AStreamResponse> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private push(event: A2AStreamResponse): void {
    this.queue.push(event);
    this.wake();
  }

  private settle(finish: () => void): void {
    this.ended = true;
    clearTimeout(this.timer);
    finish();
    this.wake();
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

  add(taskId: string): PendingTask {
    const pending = new PendingTask(taskId);
    this.byTask.set(taskId, pending);
    void pending.result.then(
      () => this.byTask.delete(taskId),
      () => this.byTask.delete(taskId),
    );
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
