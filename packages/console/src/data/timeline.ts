import { textOfParts, type AuditEntry } from '@a2a-bus/core';

/** One run of a task's handler: from its `working` event to its failure note or its end. */
export interface Attempt {
  readonly number: number;
  readonly startMs: number;
  readonly endMs: number | undefined;
  /** The agent's bus instance that ran it. */
  readonly instance: string | undefined;
  readonly outcome: 'running' | 'retried' | 'completed' | 'failed' | 'canceled' | 'rejected' | 'input-required';
  readonly note: string;
}

/** One task of a workflow, as a bar of the waterfall. */
export interface TimelineTask {
  readonly taskId: string;
  readonly capability: string;
  /** Nesting depth: a child task's id is `<parent>/<n>`. */
  readonly depth: number;
  /** ms since the workflow's first record. */
  readonly requestedMs: number;
  readonly endMs: number | undefined;
  readonly attempts: readonly Attempt[];
  readonly state: string;
  readonly deadLettered: boolean;
  /** When it was dead-lettered, if it was. */
  readonly deadLetterMs: number | undefined;
  readonly durationMs: number | undefined;
}

export interface Timeline {
  readonly workflowId: string;
  readonly startedAt: string | undefined;
  readonly totalMs: number;
  readonly tasks: readonly TimelineTask[];
}

const retryNote = /^attempt (\d+) failed: (.*?)(?:; retrying)?$/;

interface Building {
  taskId: string;
  capability: string;
  requestedMs: number;
  endMs: number | undefined;
  attempts: Array<{ number: number; startMs: number; endMs: number | undefined; instance: string | undefined; outcome: Attempt['outcome']; note: string }>;
  state: string;
  deadLetterMs: number | undefined;
}

/** A workflow's audit entries (in order, as `AgentBus.audit` returns them) as a waterfall of tasks and attempts. */
export function buildTimeline(workflowId: string, entries: readonly AuditEntry[]): Timeline {
  const start = entries.length ? Math.min(...entries.map((e) => Date.parse(e.at))) : 0;
  const tasks = new Map<string, Building>();
  const task = (entry: AuditEntry, at: number): Building | undefined => {
    if (!entry.taskId) return undefined;
    let known = tasks.get(entry.taskId);
    if (!known) {
      known = {
        taskId: entry.taskId,
        capability: entry.capability ?? '?',
        requestedMs: at,
        endMs: undefined,
        attempts: [],
        state: 'submitted',
        deadLetterMs: undefined,
      };
      tasks.set(entry.taskId, known);
    }
    return known;
  };
  for (const entry of entries) {
    const at = Date.parse(entry.at) - start;
    const t = task(entry, at);
    if (!t) continue;
    const { envelope } = entry;
    if (entry.type === 'dead-letter') {
      t.deadLetterMs = at;
      continue;
    }
    if (entry.type === 'task-request') {
      t.requestedMs = Math.min(t.requestedMs, at);
      continue;
    }
    if (envelope.kind !== 'stream-response') continue;
    const last = t.attempts.at(-1);
    const payload = envelope.payload;
    if ('statusUpdate' in payload && payload.statusUpdate && payload.statusUpdate.status.state === 'TASK_STATE_WORKING') {
      const note = payload.statusUpdate.status.message ? textOfParts(payload.statusUpdate.status.message.parts) : '';
      const retry = retryNote.exec(note);
      if (retry && last && last.outcome === 'running') {
        last.endMs = at;
        last.outcome = 'retried';
        last.note = retry[2] ?? note;
      } else if (!note) {
        t.attempts.push({ number: t.attempts.length + 1, startMs: at, endMs: undefined, instance: envelope.sender, outcome: 'running', note: '' });
        t.state = 'working';
      } else if (last) {
        last.note = note; // progress text
      }
      continue;
    }
    if ('task' in payload && payload.task) {
      const state = payload.task.status.state.replace('TASK_STATE_', '').toLowerCase();
      if (state === 'working' || state === 'submitted') continue;
      t.state = state;
      t.endMs = at;
      const note = payload.task.status.message ? textOfParts(payload.task.status.message.parts) : '';
      if (last && last.outcome === 'running') {
        last.endMs = at;
        last.outcome = state as Attempt['outcome'];
        last.note = note;
      }
    }
  }
  const built = [...tasks.values()].sort((a, b) => a.requestedMs - b.requestedMs || a.taskId.localeCompare(b.taskId));
  const rootDepth = Math.min(...built.map((t) => depthOf(t.taskId)), 0);
  const totalMs = Math.max(1, ...built.flatMap((t) => [t.endMs ?? 0, t.deadLetterMs ?? 0, ...t.attempts.map((a) => a.endMs ?? a.startMs)]));
  return {
    workflowId,
    startedAt: entries.length ? new Date(start).toISOString() : undefined,
    totalMs,
    tasks: built.map((t) => ({
      taskId: t.taskId,
      capability: t.capability,
      depth: depthOf(t.taskId) - rootDepth,
      requestedMs: t.requestedMs,
      endMs: t.endMs,
      attempts: t.attempts,
      state: t.deadLetterMs !== undefined && t.state === 'failed' ? 'dead-lettered' : t.state,
      deadLettered: t.deadLetterMs !== undefined,
      deadLetterMs: t.deadLetterMs,
      durationMs: t.endMs !== undefined ? t.endMs - t.requestedMs : undefined,
    })),
  };
}

function depthOf(taskId: string): number {
  return taskId.split('/').length - 1;
}
