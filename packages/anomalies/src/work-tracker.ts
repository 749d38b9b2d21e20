/** A task some bus instance has started and not finished, as the workflow log tells it. */
export interface HeldTask {
  readonly taskId: string;
  readonly workflowId: string;
  readonly capability: string;
  /** The bus instance whose worker runs it (the `sender` of its task events). */
  readonly holder: string;
  /** When it started there (ms). */
  readonly since: number;
}

/**
 * Who holds which task, from the workflow log: a task's `working` event names the bus
 * instance running it, its final task event releases it. Bounded: at most `maxTasks`
 * tasks are tracked (the oldest are forgotten first).
 */
export class WorkTracker {
  private readonly tasks = new Map<string, HeldTask>();
  private readonly maxTasks: number;

  constructor(maxTasks = 10_000) {
    this.maxTasks = maxTasks;
  }

  /** A task started (or restarted, after a redelivery, on another holder). */
  start(task: HeldTask): void {
    this.tasks.delete(task.taskId);
    this.tasks.set(task.taskId, task);
    if (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value!);
  }

  /** A task ended; returns what was held, if it was. */
  finish(taskId: string): HeldTask | undefined {
    const task = this.tasks.get(taskId);
    this.tasks.delete(taskId);
    return task;
  }

  get(taskId: string): HeldTask | undefined {
    return this.tasks.get(taskId);
  }

  /** Tasks held per holder. */
  byHolder(): Map<string, HeldTask[]> {
    const holders = new Map<string, HeldTask[]>();
    for (const task of this.tasks.values()) {
      const list = holders.get(task.holder);
      if (list) list.push(task);
      else holders.set(task.holder, [task]);
    }
    return holders;
  }

  heldBy(holder: string): number {
    let count = 0;
    for (const task of this.tasks.values()) if (task.holder === holder) count += 1;
    return count;
  }
}
