import {
  DefaultExecutionEventBus,
  DefaultExecutionEventBusManager,
  type ExecutionEventBus,
  type ExecutionEventBusManager,
  type ServerCallContext,
  AgentEvent,
} from '@a2a-js/sdk/server';
import type { TaskState } from '@a2a-js/sdk';
import { codec } from '../codec.js';
import { isTerminalState } from '../task-fold.js';
import type { TaskLog } from '../task-log.js';

/**
 * An `@a2a-js/sdk` `ExecutionEventBusManager` for SDK servers that run as several instances
 * over one log (with {@link LogTaskStore}). Executions in this process use the SDK's own
 * in-process buses; for a task running in another instance, `getByTaskId` hands out a bus
 * fed from the log — each change the other instance saved arrives as a `task` event, in
 * order, and the bus finishes when the task ends — so SubscribeToTask (resubscribe) works
 * on any instance, not only the one that runs the task.
 */
export class LogExecutionEventBusManager implements ExecutionEventBusManager {
  private readonly local = new DefaultExecutionEventBusManager();
  private readonly remote = new Map<string, { bus: ExecutionEventBus; stop: AbortController }>();
  private readonly taskLog: TaskLog;

  constructor(taskLog: TaskLog) {
    this.taskLog = taskLog;
  }

  createOrGetByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus {
    return this.local.createOrGetByTaskId(taskId, context);
  }

  getByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus | undefined {
    return this.local.getByTaskId(taskId, context) ?? this.remote.get(taskId)?.bus ?? this.follow(taskId);
  }

  cleanupByTaskId(taskId: string, context?: ServerCallContext): void {
    this.local.cleanupByTaskId(taskId, context);
    const remote = this.remote.get(taskId);
    remote?.stop.abort();
    this.remote.delete(taskId);
  }

  /** Local executions follow the SDK's default policy; remote ones settle themselves when the task ends. */
  settleByTaskId(_taskId: string, _bus: ExecutionEventBus, _state: TaskState | undefined, _context: ServerCallContext): boolean {
    return false;
  }

  /** A bus replaying, from the log, the changes of a task another instance runs. */
  private follow(taskId: string): ExecutionEventBus | undefined {
    const record = this.taskLog.get(taskId);
    if (!record || isTerminalState(record.task.status.state)) return undefined;
    const bus = new DefaultExecutionEventBus();
    const stop = new AbortController();
    this.remote.set(taskId, { bus, stop });
    void (async () => {
      let snapshot = true;
      for await (const event of this.taskLog.follow(taskId, stop.signal)) {
        if (snapshot) {
          snapshot = false; // the subscriber loads the task itself first
          continue;
        }
        if ('task' in event) bus.publish(AgentEvent.task(codec.taskFromWire(event.task)));
      }
    })()
      .catch(() => {})
      .finally(() => {
        bus.finished();
        this.remote.delete(taskId);
      });
    return bus;
  }
}
