import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** No final result arrived before the dispatch's timeout (the task may still run; it was asked to cancel). */
export class TaskTimeoutError extends A2ABusError {
  static readonly code = 'TASK_TIMEOUT';
  readonly taskId: string;
  readonly timeoutMs: number;

  constructor(taskId: string, timeoutMs: number) {
    super(TaskTimeoutError.code, formatMessage('runtime', `task ${taskId} timed out after ${timeoutMs} ms`), { isRetryable: true });
    this.taskId = taskId;
    this.timeoutMs = timeoutMs;
  }

  static override isInstance(error: unknown): error is TaskTimeoutError {
    return A2ABusError.isInstance(error) && error.code === TaskTimeoutError.code;
  }
}
