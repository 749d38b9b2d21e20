import { newId } from '../ids.js';
import { isoTimeCache } from '../iso-time.js';
import type { A2AArtifact, A2AMessage, A2APart, A2AStreamResponse, A2ATask, A2ATaskState } from '../a2a/schema.js';

const statusIso = isoTimeCache();

/** Short A2A state names used in the runtime's API. */
export type TaskStateName = 'submitted' | 'working' | 'completed' | 'failed' | 'canceled' | 'rejected' | 'input-required';

const toWire: Record<TaskStateName, A2ATaskState> = {
  submitted: 'TASK_STATE_SUBMITTED',
  working: 'TASK_STATE_WORKING',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  canceled: 'TASK_STATE_CANCELED',
  rejected: 'TASK_STATE_REJECTED',
  'input-required': 'TASK_STATE_INPUT_REQUIRED',
};

export function wireState(state: TaskStateName): A2ATaskState {
  return toWire[state];
}

export function stateName(state: A2ATaskState): TaskStateName | undefined {
  return (Object.keys(toWire) as TaskStateName[]).find((name) => toWire[name] === state);
}

/** States after which a task changes no more (input-required ends this dispatch too). */
export function isFinal(state: A2ATaskState): boolean {
  return state !== 'TASK_STATE_SUBMITTED' && state !== 'TASK_STATE_WORKING';
}

/** A user message with one text part. */
export function userText(text: string, extra: Partial<A2AMessage> = {}): A2AMessage {
  return { messageId: newId(), role: 'ROLE_USER', parts: [{ text }], ...extra };
}

export function agentText(text: string, extra: Partial<A2AMessage> = {}): A2AMessage {
  return { messageId: newId(), role: 'ROLE_AGENT', parts: [{ text }], ...extra };
}

/** The text of every text part, joined. */
export function textOfParts(parts: readonly A2APart[]): string {
  return parts.flatMap((part) => (part.text === undefined ? [] : [part.text])).join('');
}

export function statusEvent(task: { id: string; contextId: string }, state: TaskStateName, message?: A2AMessage): A2AStreamResponse {
  return {
    statusUpdate: {
      taskId: task.id,
      contextId: task.contextId,
      status: { state: wireState(state), timestamp: statusIso(Date.now()), ...(message ? { message } : {}) },
    },
  };
}

export function artifactEvent(task: { id: string; contextId: string }, artifact: A2AArtifact, append = false, lastChunk = true): A2AStreamResponse {
  return { artifactUpdate: { taskId: task.id, contextId: task.contextId, artifact, append, lastChunk } };
}

export function finalTask(
  task: { id: string; contextId: string },
  state: TaskStateName,
  artifacts: A2AArtifact[],
  history: A2AMessage[],
  message?: A2AMessage,
): A2ATask {
  return {
    id: task.id,
    contextId: task.contextId,
    status: { state: wireState(state), timestamp: statusIso(Date.now()), ...(message ? { message } : {}) },
    artifacts,
    history,
  };
}
