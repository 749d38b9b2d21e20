import { randomUUID } from 'node:crypto';
import { createEnvelope, runtimeHeaders, runtimeTopics, type Transport } from '@a2a-bus/core';
import type { ListTasksRequest, ListTasksResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import { bindingHeaders } from '../binding.js';
import { codec } from '../codec.js';
import { listTasks } from '../task-list.js';
import type { TaskLog } from '../task-log.js';

/**
 * An `@a2a-js/sdk` `TaskStore` backed by the bus's workflow log. `save` appends the task to
 * the log (and folds it into this process's view at once, so a load right after sees it);
 * `load` and `list` read the view, which every process builds from the same log — so any
 * number of SDK servers (or gateway instances) answer GetTask and ListTasks for tasks
 * another one handled.
 */
export class LogTaskStore implements TaskStore {
  private readonly transport: Transport;
  private readonly taskLog: TaskLog;
  private readonly topic: string;

  constructor(options: { transport: Transport; namespace: string; taskLog: TaskLog }) {
    this.transport = options.transport;
    this.taskLog = options.taskLog;
    this.topic = runtimeTopics(options.namespace).workflows;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const envelope = createEnvelope({
      id: randomUUID(),
      kind: 'stream-response',
      key: task.contextId || task.id,
      payload: { task: codec.taskToWire(task) },
      headers: { [runtimeHeaders.type]: 'task-event', [runtimeHeaders.taskId]: task.id, ...callerHeader(context) },
    });
    await this.transport.publish(this.topic, envelope);
    this.taskLog.observe(envelope);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const record = this.taskLog.get(taskId);
    if (!record) return undefined;
    const caller = context.user?.isAuthenticated ? context.user.userName : undefined;
    if (record.caller !== undefined && record.caller !== caller) return undefined;
    return codec.taskFromWire(structuredClone(record.task));
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const status = codec.stateToWire(params.status);
    const caller = context.user?.isAuthenticated ? context.user.userName : undefined;
    const page = listTasks(
      this.taskLog,
      {
        ...(params.contextId ? { contextId: params.contextId } : {}),
        ...(status ? { status } : {}),
        ...(params.pageSize !== undefined ? { pageSize: params.pageSize } : {}),
        ...(params.pageToken ? { pageToken: params.pageToken } : {}),
        ...(params.historyLength !== undefined ? { historyLength: params.historyLength } : {}),
        ...(params.statusTimestampAfter ? { statusTimestampAfter: params.statusTimestampAfter } : {}),
        includeArtifacts: true, // the SDK's serializer drops them unless asked
      },
      caller ? { caller } : {},
    );
    return { ...page, tasks: page.tasks.map(codec.taskFromWire) };
  }
}

function callerHeader(context: ServerCallContext): Record<string, string> {
  return context.user?.isAuthenticated ? { [bindingHeaders.caller]: context.user.userName } : {};
}
