import { runtimeHeaders, type A2AArtifact, type A2AStreamResponse, type A2ATask, type Envelope } from '@a2a-bus/core';
import { bindingHeaders } from './binding.js';

/** A task as rebuilt from the workflow log: the A2A Task plus what the binding needs around it. */
export interface TaskRecord {
  task: A2ATask;
  readonly capability: string | undefined;
  /** Who asked (the gateway's authenticated user), for scoping reads. */
  readonly caller: string | undefined;
  /** Last change, ms since the epoch (status timestamp, else record time). */
  updatedAt: number;
  /** Ids of the log records folded in, so a record seen twice (replay + live) counts once. */
  readonly seen: Set<string>;
}

const terminal = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);
const interrupted = new Set(['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED']);

/** Completed, failed, canceled or rejected: the task changes no more. */
export function isTerminalState(state: string): boolean {
  return terminal.has(state);
}

/** Terminal or interrupted: a stream of this task ends here (A2A §3.1.2). */
export function endsStream(state: string): boolean {
  return terminal.has(state) || interrupted.has(state);
}

/** The task id a workflow-log record is about, if it is a task record. */
export function taskIdOf(envelope: Envelope): string | undefined {
  return envelope.headers?.[runtimeHeaders.taskId] ?? (envelope.kind === 'message' ? envelope.payload.taskId : undefined);
}

/** The record as a StreamResponse a subscriber sees; the request itself is not one. */
export function streamEventOf(envelope: Envelope): A2AStreamResponse | undefined {
  return envelope.kind === 'stream-response' ? envelope.payload : undefined;
}

/** Whether this event ends the task's stream. */
export function isStreamEnd(event: A2AStreamResponse): boolean {
  if ('task' in event) return endsStream(event.task.status.state);
  if ('statusUpdate' in event) return endsStream(event.statusUpdate.status.state);
  return 'message' in event;
}

/**
 * Folds one workflow-log record into the task it is about (creating it on the request or
 * on the first event: a worker's first event may reach the log before the caller's copy of
 * the request). Returns the record, or undefined when the envelope is not about a task.
 */
export function foldRecord(existing: TaskRecord | undefined, envelope: Envelope): TaskRecord | undefined {
  const taskId = taskIdOf(envelope);
  if (!taskId) return existing;
  if (existing?.seen.has(envelope.id)) return existing;
  const at = Date.parse(envelope.createdAt);
  const record: TaskRecord = existing ?? {
    task: { id: taskId, contextId: envelope.key, status: { state: 'TASK_STATE_SUBMITTED', timestamp: envelope.createdAt }, artifacts: [], history: [] },
    capability: envelope.headers?.[runtimeHeaders.capability],
    caller: envelope.headers?.[bindingHeaders.caller],
    updatedAt: at,
    seen: new Set(),
  };
  record.seen.add(envelope.id);
  if (envelope.kind === 'message') {
    const caller = envelope.headers?.[bindingHeaders.caller];
    const history = record.task.history ?? [];
    if (!history.some((m) => m.messageId === envelope.payload.messageId)) record.task = { ...record.task, history: [envelope.payload, ...history] };
    return caller && !record.caller ? { ...record, caller } : record;
  }
  if (envelope.kind !== 'stream-response') return record;
  const event = envelope.payload;
  // A task that ended stays ended: a late copy of an earlier event (or a record this process
  // folded ahead of the log) cannot take it back to working.
  const ended = isTerminalState(record.task.status.state);
  if ('task' in event) {
    // The worker's final task: authoritative for status and artifacts; history merged.
    if (ended && !isTerminalState(event.task.status.state)) return record;
    const history = mergeHistory(record.task.history ?? [], event.task.history ?? []);
    record.task = { ...event.task, history };
  } else if ('statusUpdate' in event) {
    if (!ended) record.task = { ...record.task, status: event.statusUpdate.status };
  } else if ('artifactUpdate' in event) {
    if (ended) return record;
    const { artifact, append } = event.artifactUpdate;
    record.task = { ...record.task, artifacts: mergeArtifact(record.task.artifacts ?? [], artifact, append ?? false) };
  }
  const stamp = statusTime(record.task);
  record.updatedAt = Math.max(record.updatedAt, Number.isNaN(stamp) ? at : stamp, at);
  return record;
}

function statusTime(task: A2ATask): number {
  return task.status.timestamp ? Date.parse(task.status.timestamp) : Number.NaN;
}

function mergeHistory(known: A2ATask['history'] & object, incoming: A2ATask['history'] & object): NonNullable<A2ATask['history']> {
  const ids = new Set(known.map((m) => m.messageId));
  return [...known, ...incoming.filter((m) => !ids.has(m.messageId))];
}

function mergeArtifact(artifacts: A2AArtifact[], artifact: A2AArtifact, append: boolean): A2AArtifact[] {
  const index = artifacts.findIndex((a) => a.artifactId === artifact.artifactId);
  if (index < 0) return [...artifacts, artifact];
  const merged = append ? { ...artifacts[index]!, parts: [...artifacts[index]!.parts, ...artifact.parts] } : artifact;
  return artifacts.map((a, i) => (i === index ? merged : a));
}
