import { A2ABusError } from './a2a-bus-error.js';

/** Thrown by a worker's handler: the agent declines the task (A2A state rejected); not retried. */
export class TaskRejectedError extends A2ABusError {
  static readonly code = 'TASK_REJECTED';
  constructor(message: string) {
    super(TaskRejectedError.code, message);
  }

  static override isInstance(error: unknown): error is TaskRejectedError {
    return A2ABusError.isInstance(error) && error.code === TaskRejectedError.code;
  }
}
