import { createEnvelope, runtimeHeaders, type A2AStreamResponse } from '@a2a-bus/core';
import { describe, expect, it } from 'vitest';
import { foldRecord, type TaskRecord } from '../src/task-fold.js';

const ref = { taskId: 't-1', contextId: 'ctx-1' };
const record = (payload: A2AStreamResponse) =>
  createEnvelope({ kind: 'stream-response', key: 'ctx-1', payload, headers: { [runtimeHeaders.type]: 'task-event', [runtimeHeaders.taskId]: 't-1' } });
const status = (state: 'TASK_STATE_WORKING' | 'TASK_STATE_COMPLETED') => record({ statusUpdate: { ...ref, status: { state } } });
const artifact = (id: string, text: string, append = false) => record({ artifactUpdate: { ...ref, artifact: { artifactId: id, parts: [{ text }] }, append } });
const final = () =>
  record({ task: { id: 't-1', contextId: 'ctx-1', status: { state: 'TASK_STATE_COMPLETED' }, artifacts: [{ artifactId: 'a', parts: [{ text: 'done' }] }] } });

function fold(...envelopes: ReturnType<typeof record>[]): TaskRecord {
  let folded: TaskRecord | undefined;
  for (const envelope of envelopes) folded = foldRecord(folded, envelope);
  return folded!;
}

describe('folding the workflow log into a task', () => {
  it('applies status and artifact events in order, appending chunks', () => {
    const task = fold(status('TASK_STATE_WORKING'), artifact('a', 'one '), artifact('a', 'two', true), artifact('b', 'x')).task;
    expect(task.status.state).toBe('TASK_STATE_WORKING');
    expect(task.artifacts?.map((a) => a.parts.map((p) => p.text).join(''))).toEqual(['one two', 'x']);
  });

  it('counts a record seen twice (replay and live) once', () => {
    const chunk = artifact('a', 'one ', true);
    expect(fold(chunk, chunk).task.artifacts?.[0]?.parts).toHaveLength(1);
  });

  it('keeps an ended task ended when an earlier event arrives late', () => {
    const task = fold(final(), status('TASK_STATE_WORKING'), artifact('z', 'late')).task;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts?.map((a) => a.artifactId)).toEqual(['a']);
  });
});
