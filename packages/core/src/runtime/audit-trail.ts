import type { A2ATaskState } from '../a2a/schema.js';
import { isFinal } from './a2a.js';
import type { AuditEntry } from './agent-bus.js';
import { runtimeHeaders } from './topics.js';

/**
 * Slots dead letters (read from other topics) into the workflow log by time, keeping the
 * log's own order: each goes after the last log entry not later than it.
 */
export function mergeByTime(log: readonly AuditEntry[], deadLetters: readonly AuditEntry[]): AuditEntry[] {
  if (deadLetters.length === 0) return [...log];
  const sorted = [...deadLetters].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const merged: AuditEntry[] = [];
  let next = 0;
  for (const entry of log) {
    while (next < sorted.length && Date.parse(sorted[next]!.at) < Date.parse(entry.at)) merged.push(sorted[next++]!);
    merged.push(entry);
  }
  while (next < sorted.length) merged.push(sorted[next++]!);
  return merged;
}

/**
 * Marks the start of every attempt that never ended: another attempt of the same task
 * started before it produced a final task or a retry. Its process died, or lost the task
 * (lease, session) and was fenced, before it could finish.
 */
export function markInterrupted(entries: AuditEntry[]): AuditEntry[] {
  const open = new Map<string, number>();
  const interrupted = new Set<number>();
  entries.forEach((entry, index) => {
    const task = entry.taskId;
    if (!task || entry.type !== 'task-event') return;
    const payload = entry.envelope.payload as { task?: { status?: { state?: string } } };
    const ended =
      (payload.task?.status?.state !== undefined && isFinal(payload.task.status.state as A2ATaskState)) ||
      entry.envelope.headers?.[runtimeHeaders.attemptEnd] !== undefined;
    if (ended) {
      open.delete(task);
      return;
    }
    if (entry.attempt === undefined) return;
    const previous = open.get(task);
    if (previous !== undefined) interrupted.add(previous);
    open.set(task, index);
  });
  return entries.map((entry, index) => (interrupted.has(index) ? { ...entry, interrupted: true as const } : entry));
}
