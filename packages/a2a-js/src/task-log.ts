import { randomUUID } from 'node:crypto';
import {
  runtimeHeaders,
  runtimeTopics,
  silentLogger,
  type A2AStreamResponse,
  type A2ATask,
  type Envelope,
  type Logger,
  type Subscription,
  type Transport,
} from '@a2a-bus/core';
import { bindingHeaders } from './binding.js';
import { foldRecord, isStreamEnd, isTerminalState, streamEventOf, taskIdOf, type TaskRecord } from './task-fold.js';

export interface TaskLogOptions {
  readonly transport: Transport;
  readonly namespace: string;
  /** Tasks whose records are older than this are left out of the view (default 24 h). */
  readonly lookbackMs?: number;
  /** Tasks held; the least recently changed are forgotten first (default 100,000). */
  readonly capacity?: number;
  readonly logger?: Logger;
}

/** Something following one task's log records live. */
type Watcher = (envelope: Envelope) => void;

/**
 * The tasks of a namespace as the workflow log tells them: every task request and every
 * task event the runtime writes to `<namespace>.workflows`, folded into A2A Tasks. It is a
 * view any process builds by reading the retained log from its start and then following it
 * (a consumer group of its own), so every gateway instance and every SDK client answers
 * GetTask, ListTasks and SubscribeToTask for tasks it never saw dispatched. `start()` returns
 * once subscribed; the past arrives as it is read (a lookup for an unknown task waits for it).
 */
export class TaskLog {
  private readonly records = new Map<string, TaskRecord>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly arrivals = new Set<() => void>();
  private readonly options: TaskLogOptions;
  private readonly topic: string;
  private readonly logger: Logger;
  private readonly lookbackMs: number;
  private subscription: Subscription | undefined;
  private started: Promise<void> | undefined;

  constructor(options: TaskLogOptions) {
    this.options = options;
    this.topic = runtimeTopics(options.namespace).workflows;
    this.logger = (options.logger ?? silentLogger).child({ component: 'a2a-task-log' });
    this.lookbackMs = options.lookbackMs ?? 86_400_000;
  }

  start(): Promise<void> {
    this.started ??= (async () => {
      const { transport } = this.options;
      await transport.connect();
      // A group of its own that starts at the beginning of what the log retains: each
      // partition is read from its start whenever this member comes to own it, so no record
      // falls between a replay and a live subscription still being assigned partitions.
      this.subscription = await transport.subscribe(this.topic, (d) => this.apply(d.envelope), {
        group: `a2a-tasks-${randomUUID().slice(0, 12)}`,
        startFrom: 'earliest',
        deadLetterTopic: false,
        maxInFlight: 1024,
      });
      this.logger.debug({ topic: this.topic }, 'following the workflow log');
    })();
    return this.started;
  }

  async close(): Promise<void> {
    await this.started?.catch(() => {});
    await this.subscription?.close({ drainTimeoutMs: 1_000 });
    for (const wake of [...this.arrivals]) wake();
  }

  /** The task as the view knows it now. */
  get(taskId: string): TaskRecord | undefined {
    return this.records.get(taskId);
  }

  /**
   * The task, waiting up to `waitMs` for it to show up: a task dispatched through another
   * instance reaches this view a consumer poll later (read-your-writes across instances).
   */
  async find(taskId: string, waitMs: number): Promise<TaskRecord | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const record = this.records.get(taskId);
      if (record || Date.now() >= deadline) return record;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.arrivals.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.arrivals.add(wake);
      });
    }
  }

  /** Live followers (open SubscribeToTask streams and cancels waiting) of one task, or of all. */
  followerCount(taskId?: string): number {
    if (taskId !== undefined) return this.watchers.get(taskId)?.size ?? 0;
    let count = 0;
    for (const set of this.watchers.values()) count += set.size;
    return count;
  }

  /** Every task held, most recently changed first. */
  all(): TaskRecord[] {
    return [...this.records.values()].sort((a, b) => b.updatedAt - a.updatedAt);
  }

  /**
   * SubscribeToTask: the task as it is now, then every later event of it in log order,
   * ending after the event that ends its stream. The snapshot and the start of the live
   * feed are taken at one instant of the fold, so no event falls between them.
   */
  async *follow(taskId: string, signal?: AbortSignal): AsyncGenerator<A2AStreamResponse> {
    const record = this.records.get(taskId);
    if (!record) return;
    const queue: A2AStreamResponse[] = [];
    let wake: (() => void) | undefined;
    const watcher: Watcher = (envelope) => {
      const event = streamEventOf(envelope);
      if (!event) return;
      queue.push(event);
      wake?.();
    };
    const set = this.watchers.get(taskId) ?? new Set<Watcher>();
    set.add(watcher);
    this.watchers.set(taskId, set);
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      const snapshot = { task: structuredClone(record.task) };
      yield snapshot;
      if (isStreamEnd(snapshot)) return;
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          if (isStreamEnd(next)) return;
          continue;
        }
        if (signal?.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      set.delete(watcher);
      if (set.size === 0) this.watchers.delete(taskId);
    }
  }

  /** Folds a record this process just wrote, before its copy comes back from the log (read-your-writes). */
  observe(envelope: Envelope): void {
    this.apply(envelope);
  }

  /**
   * Folds a task this process learned first-hand (the answer to its own dispatch), so its
   * own reads see it at once; the log's copies fold in later without changing the result.
   */
  remember(task: A2ATask, capability: string, caller?: string): void {
    if (!isTerminalState(task.status.state) && this.records.has(task.id)) return; // the view knows as much already
    // Never published, only folded here: built as the fold reads it, without envelope validation.
    const envelope = {
      v: 1,
      id: randomUUID(),
      kind: 'stream-response',
      key: task.contextId,
      createdAt: new Date().toISOString(),
      a2aVersion: '1.0',
      contentType: 'application/a2a+json',
      payload: { task },
      headers: {
        [runtimeHeaders.type]: 'task-event',
        [runtimeHeaders.taskId]: task.id,
        [runtimeHeaders.capability]: capability,
        ...(caller ? { [bindingHeaders.caller]: caller } : {}),
      },
    } as Envelope;
    this.apply(envelope);
  }

  private apply(envelope: Envelope): void {
    const taskId = taskIdOf(envelope);
    if (!taskId) return;
    if (Date.parse(envelope.createdAt) < Date.now() - this.lookbackMs) return; // older than the view keeps
    const before = this.records.get(taskId);
    if (before?.seen.has(envelope.id)) return;
    const after = foldRecord(before, envelope);
    if (!after) return;
    this.records.delete(taskId); // re-insert: the map's order is least recently changed first
    this.records.set(taskId, after);
    if (this.records.size > (this.options.capacity ?? 100_000)) this.records.delete(this.records.keys().next().value!);
    for (const watcher of this.watchers.get(taskId) ?? []) watcher(envelope);
    for (const wake of [...this.arrivals]) wake();
  }
}
