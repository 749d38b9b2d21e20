import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/**
 * A dispatched task ended in a state other than completed. `state` is the A2A state
 * (failed, rejected, canceled, input-required) and `task` the final task as the worker sent it.
 */
export class TaskError extends A2ABusError {
  static readonly code = 'TASK_NOT_COMPLETED';
  readonly taskId: string;
  readonly state: string;
  readonly task: unknown;

  constructor(taskId: string, state: string, reason: string, task?: unknown) {
    super(TaskError.code, formatMessage('runtime', `task ${taskId} ended ${state}: ${reason}`));
    this.taskId = taskId;
    this.state = state;
    this.task = task;
  }

  static override isInstance(error: unknown): error is TaskError {
    return A2ABusError.isInstance(error) && error.code === TaskError.code;
  }
}
