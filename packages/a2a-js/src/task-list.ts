import type { A2ATask } from '@a2a-bus/core';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { CallInfo } from './call.js';
import type { TaskRecord } from './task-fold.js';
import type { TaskLog } from './task-log.js';

export interface WireListRequest {
  readonly contextId?: string;
  /** Wire state name (`TASK_STATE_WORKING`); empty or unspecified means any. */
  readonly status?: string;
  readonly pageSize?: number;
  readonly pageToken?: string;
  readonly historyLength?: number;
  readonly statusTimestampAfter?: string;
  readonly includeArtifacts?: boolean;
}

export interface WireListResponse {
  readonly tasks: A2ATask[];
  readonly nextPageToken: string;
  readonly pageSize: number;
  readonly totalSize: number;
}

/** ListTasks over the view: newest change first, filtered, paged by offset tokens. */
export function listTasks(taskLog: TaskLog, request: WireListRequest, call: CallInfo): WireListResponse {
  const pageSize = request.pageSize ?? 50;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new RequestMalformedError('pageSize must be between 1 and 100');
  const offset = request.pageToken ? Number(request.pageToken) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new RequestMalformedError('pageToken is not one this server gave');
  const after = request.statusTimestampAfter ? Date.parse(request.statusTimestampAfter) : undefined;
  const state = request.status && request.status !== 'TASK_STATE_UNSPECIFIED' ? request.status : undefined;
  const matching = taskLog
    .all()
    .filter((r) => visible(r, call))
    .filter((r) => !request.contextId || r.task.contextId === request.contextId)
    .filter((r) => !state || r.task.status.state === state)
    .filter((r) => after === undefined || r.updatedAt >= after);
  const page = matching.slice(offset, offset + pageSize).map((r) => {
    const task = withHistory(structuredClone(r.task), request.historyLength);
    if (!request.includeArtifacts) delete task.artifacts;
    return task;
  });
  const next = offset + pageSize < matching.length ? String(offset + pageSize) : '';
  return { tasks: page, nextPageToken: next, pageSize, totalSize: matching.length };
}

/** Tasks an authenticated caller dispatched are theirs alone; anonymous ones are everyone's. */
export function visible(record: TaskRecord, call: CallInfo): boolean {
  return record.caller === undefined || record.caller === call.caller;
}

/** Applies A2A historyLength: unset = all, 0 = none, n = the last n. */
export function withHistory(task: A2ATask, historyLength: number | undefined): A2ATask {
  if (historyLength === undefined || !task.history) return task;
  return { ...task, history: historyLength === 0 ? [] : task.history.slice(-historyLength) };
}
