import { randomUUID } from 'node:crypto';
import { messageSchema, TaskError, type A2AMessage, type A2AStreamResponse, type A2ATask, type AgentBus } from '@a2a-bus/core';
import { A2AError, RequestMalformedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { SKILL_METADATA_KEY } from './binding.js';
import { callHeaders, type CallInfo } from './call.js';
import { iterateUntilAborted, untilAborted } from './abort.js';
import { toA2AError } from './errors.js';
import { isTerminalState, type TaskRecord } from './task-fold.js';
import type { TaskLog } from './task-log.js';
import { listTasks, visible, withHistory, type WireListRequest, type WireListResponse } from './task-list.js';
export type { WireListRequest, WireListResponse } from './task-list.js';

/** SendMessageRequest in wire form (what `SendMessageRequest.toJSON` gives). */
export interface WireSendRequest {
  readonly message?: unknown;
  readonly configuration?: { readonly returnImmediately?: boolean; readonly historyLength?: number };
  readonly metadata?: Record<string, unknown>;
}

export interface BusA2AServiceOptions {
  readonly bus: AgentBus;
  readonly taskLog: TaskLog;
  /** Skill for requests that name none (a per-skill interface URL sets it). */
  readonly defaultSkill?: string;
  /** How long GetTask / CancelTask / SubscribeToTask wait for a task this view has not seen yet. Default 1 s. */
  readonly lookupWaitMs?: number;
  /** How long CancelTask waits for the task to end canceled before answering with its state then. Default 10 s. */
  readonly cancelWaitMs?: number;
  /** Dispatch timeout (default: the bus's). */
  readonly timeoutMs?: number;
}

/**
 * The A2A operations over the agent runtime, in A2A wire form. The HTTP gateway's request
 * handler and the SDK client's bus transport are both thin shells around this one class, so
 * both speak the binding identically. Errors are `@a2a-js/sdk` A2A errors.
 */
export class BusA2AService {
  readonly bus: AgentBus;
  readonly taskLog: TaskLog;
  private readonly options: BusA2AServiceOptions;

  constructor(options: BusA2AServiceOptions) {
    this.options = options;
    this.bus = options.bus;
    this.taskLog = options.taskLog;
  }

  /**
   * SendMessage: blocks until the task ends or is interrupted, unless `returnImmediately`.
   * The caller's signal stops the waiting, not the task (as a dropped HTTP request does):
   * CancelTask cancels.
   */
  async send(request: WireSendRequest, call: CallInfo): Promise<{ task: A2ATask }> {
    const plan = await this.plan(request, call);
    if (request.configuration?.returnImmediately) {
      // The stream's first event comes once the request is published: answer with it, and
      // let the rest run (the outcome is in the log; GetTask reads it from there).
      const events = this.bus.dispatchStream(plan.skill, plan.message, plan.dispatchOptions);
      const first = await events.next().catch((error: unknown) => {
        throw toA2AError(error);
      });
      void (async () => {
        for await (const _event of events);
      })().catch(() => {});
      if (!first.done && 'task' in first.value) {
        this.taskLog.remember(first.value.task, plan.skill, call.caller);
        return { task: first.value.task };
      }
      throw new A2AError(`task ${plan.taskId} was not submitted`);
    }
    const dispatch = this.bus.dispatch(plan.skill, plan.message, plan.dispatchOptions);
    try {
      const task = await untilAborted(dispatch, call.signal);
      this.taskLog.remember(task, plan.skill, call.caller);
      return { task: withHistory(task, request.configuration?.historyLength) };
    } catch (error) {
      if (!TaskError.isInstance(error) || !error.task) throw toA2AError(error);
      this.taskLog.remember(error.task as A2ATask, plan.skill, call.caller);
      return { task: withHistory(error.task as A2ATask, request.configuration?.historyLength) };
    }
  }

  /** SendStreamingMessage: the submitted task, then every event in the order the agent produced them. */
  async *stream(request: WireSendRequest, call: CallInfo): AsyncGenerator<A2AStreamResponse> {
    const plan = await this.plan(request, call);
    try {
      for await (const event of iterateUntilAborted(this.bus.dispatchStream(plan.skill, plan.message, plan.dispatchOptions), call.signal)) {
        if ('task' in event) this.taskLog.remember(event.task, plan.skill, call.caller);
        yield event;
      }
    } catch (error) {
      if (TaskError.isInstance(error) && error.task) return; // the final task was the last event
      throw toA2AError(error);
    }
  }

  async getTask(id: string, historyLength: number | undefined, call: CallInfo): Promise<A2ATask> {
    const record = await this.require(id, call);
    return withHistory(structuredClone(record.task), historyLength);
  }

  list(request: WireListRequest, call: CallInfo): WireListResponse {
    return listTasks(this.taskLog, request, call);
  }

  /** CancelTask: asks whichever worker holds the task to stop, and answers with the task once it ended. */
  async cancel(id: string, call: CallInfo): Promise<A2ATask> {
    const record = await this.require(id, call);
    if (isTerminalState(record.task.status.state)) throw new TaskNotCancelableError(`task ${id} is already ${record.task.status.state}`);
    const contextId = record.task.contextId;
    await this.bus.cancel(id, contextId);
    // Cancels are fire-and-forget records; one that reaches a worker still joining the control
    // topic is missed. Asking again until the task ends is harmless (a cancel is idempotent).
    const again = setInterval(() => void this.bus.cancel(id, contextId).catch(() => {}), 1_000);
    try {
      for await (const _event of this.taskLog.follow(id, AbortSignal.timeout(this.options.cancelWaitMs ?? 10_000))) {
        // follow() ends after the event that ends the task (or when the wait is over)
      }
    } finally {
      clearInterval(again);
    }
    return structuredClone(this.taskLog.get(id)?.task ?? record.task);
  }

  /** SubscribeToTask: the task now, then its later events from the log, until it ends. */
  async *subscribe(id: string, call: CallInfo): AsyncGenerator<A2AStreamResponse> {
    const record = await this.require(id, call);
    if (isTerminalState(record.task.status.state)) {
      throw new UnsupportedOperationError(`task ${id} is ${record.task.status.state} and cannot be subscribed to`);
    }
    yield* this.taskLog.follow(id, call.signal);
  }

  private async require(id: string, call: CallInfo): Promise<TaskRecord> {
    if (!id.trim()) throw new RequestMalformedError('a task id is required');
    const record = await this.taskLog.find(id, this.options.lookupWaitMs ?? 1_000);
    if (!record || !visible(record, call)) throw new TaskNotFoundError(`task ${id} not found`);
    return record;
  }

  /** Validates the request and decides task id, context id and skill before anything is sent. */
  private async plan(request: WireSendRequest, call: CallInfo) {
    const parsed = messageSchema.safeParse(request.message);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `message.${i.path.join('.')}: ${i.message}`).join('; ');
      throw new RequestMalformedError(`invalid message: ${problems}`);
    }
    const message: A2AMessage = parsed.data;
    if (message.parts.length === 0) throw new RequestMalformedError('invalid message: message.parts needs at least one part');
    if (message.role !== 'ROLE_USER') throw new RequestMalformedError('invalid message: a client message has role ROLE_USER');
    let previous: TaskRecord | undefined;
    if (message.taskId) {
      previous = await this.require(message.taskId, call);
      if (isTerminalState(previous.task.status.state)) {
        throw new UnsupportedOperationError(`task ${message.taskId} is ${previous.task.status.state}; start a new task`);
      }
    }
    const skill = this.pickSkill(request, message, previous);
    if (!this.bus.agents().some((agent) => agent.capabilities.includes(skill))) {
      throw new UnsupportedOperationError(`no live agent serves skill ${skill}`);
    }
    const taskId = message.taskId || randomUUID();
    const contextId = previous?.task.contextId ?? (message.contextId || randomUUID());
    const timeoutMs = this.options.timeoutMs;
    return {
      skill,
      taskId,
      contextId,
      message: { ...message, taskId, contextId },
      dispatchOptions: { taskId, workflowId: contextId, headers: callHeaders(call), ...(timeoutMs ? { timeoutMs } : {}) },
    };
  }

  private pickSkill(request: WireSendRequest, message: A2AMessage, previous: TaskRecord | undefined): string {
    const named = request.metadata?.[SKILL_METADATA_KEY] ?? message.metadata?.[SKILL_METADATA_KEY];
    if (typeof named === 'string' && named) return named;
    if (previous?.capability) return previous.capability;
    if (this.options.defaultSkill) return this.options.defaultSkill;
    const live = [...new Set(this.bus.agents().flatMap((a) => a.capabilities))];
    if (live.length === 1) return live[0]!;
    throw new RequestMalformedError(`name a skill in metadata["${SKILL_METADATA_KEY}"]; live skills: ${live.sort().join(', ') || 'none'}`);
  }
}
