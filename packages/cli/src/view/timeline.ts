import { redriveHeaders, textOfParts, type AuditEntry } from '@a2a-bus/core';
import { stateOf } from './record-summary.js';

/** One line of a workflow's timeline. */
export interface TimelineStep {
  readonly at: string;
  /** Milliseconds since the workflow's first record. */
  readonly sinceStartMs: number;
  readonly type: string;
  readonly taskId: string | undefined;
  readonly capability: string | undefined;
  /** Bus instance that wrote the record (caller for requests, worker for events). */
  readonly instance: string | undefined;
  readonly state: string | undefined;
  /** Attempts the task took so far (on its final state and dead letters). */
  readonly attempts: number | undefined;
  /** Request to final state, on the final state. */
  readonly durationMs: number | undefined;
  readonly detail: string;
}

/** Turns audit entries (in order) into timeline steps with attempts and durations per task. */
export function buildTimeline(entries: readonly AuditEntry[]): TimelineStep[] {
  const start = entries.length ? Date.parse(entries[0]!.at) : 0;
  const requested = new Map<string, number>();
  const attempts = new Map<string, number>();
  return entries.map((entry) => {
    const at = Date.parse(entry.at);
    const { envelope } = entry;
    const taskId = entry.taskId;
    const state = stateOf(envelope);
    let detail = '';
    let final = false;
    if (entry.type === 'task-request' && taskId) {
      if (envelope.headers?.[redriveHeaders.by]) {
        // A redrive starts the task's count over (its audit record is written before the request).
        requested.set(taskId, at);
        attempts.set(taskId, 0);
      } else requested.set(taskId, Math.min(at, requested.get(taskId) ?? at));
    }
    if (envelope.kind === 'stream-response') {
      const event = envelope.payload;
      if ('statusUpdate' in event) {
        const message = event.statusUpdate.status.message;
        // A bare `working` update marks the start of an attempt; one with text is progress.
        if (!message && taskId) attempts.set(taskId, (attempts.get(taskId) ?? 0) + 1);
        detail = message ? textOfParts(message.parts) : 'attempt started';
      } else if ('artifactUpdate' in event) {
        const artifact = event.artifactUpdate.artifact;
        detail = `artifact ${artifact.artifactId} ${Buffer.byteLength(JSON.stringify(artifact.parts))} B`;
      } else if ('task' in event) {
        final = true;
        const task = event.task;
        const sizes = (task.artifacts ?? []).map((a) => `${a.artifactId} ${Buffer.byteLength(JSON.stringify(a.parts))} B`);
        const message = task.status.message ? textOfParts(task.status.message.parts) : '';
        detail = [message, sizes.length ? `artifacts: ${sizes.join(', ')}` : ''].filter(Boolean).join('; ');
      }
    } else if (envelope.kind === 'dead-letter') {
      final = true;
      const letter = envelope.payload;
      if (taskId) attempts.set(taskId, letter.attempts);
      detail = `${letter.reason}: ${letter.error.message}`;
    } else if (envelope.kind === 'message') {
      const redrivenBy = envelope.headers?.[redriveHeaders.by];
      detail = `${redrivenBy ? `redriven by ${redrivenBy}: ` : ''}${textOfParts(envelope.payload.parts).slice(0, 60)}`;
    }
    const requestedAt = taskId ? requested.get(taskId) : undefined;
    return {
      at: entry.at,
      sinceStartMs: at - start,
      type: entry.type,
      taskId,
      capability: entry.capability,
      instance: envelope.sender,
      state,
      attempts: final && taskId ? attempts.get(taskId) : undefined,
      durationMs: final && requestedAt !== undefined ? at - requestedAt : undefined,
      detail,
    };
  });
}
