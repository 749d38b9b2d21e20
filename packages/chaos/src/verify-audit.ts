import type { AuditEntry } from '@a2a-bus/core';
import type { Run } from './runs.js';
import type { DuplicateCause, Violation } from './verify.js';

/**
 * Invariant 4, `audit(workflowId)` against the journals: a step's request precedes every
 * event of that step; a child's completion precedes its parent's; every step a journal
 * shows succeeding is in the trail; a repeated answer is marked as served from the
 * idempotency store, and an attempt that never ended (its process died) is marked so.
 */
export function checkAudits(audits: ReadonlyMap<string, AuditEntry[]>, runs: readonly Run[], causeOf: ReadonlyMap<Run, DuplicateCause>): Violation[] {
  const violations: Violation[] = [];
  const okRuns = new Map<string, Run[]>();
  for (const run of runs) if (run.outcome === 'ok') okRuns.set(run.wf, [...(okRuns.get(run.wf) ?? []), run]);
  for (const [wf, entries] of audits) {
    const add = (what: string, lines: string[] = []): void => void violations.push({ invariant: 4, workflow: wf, what, lines });
    const firstRequest = new Map<string, number>();
    const firstCompleted = new Map<string, number>();
    // Each successful run may leave one completion; any further one must be an answer marked as such.
    const unmarkedLeft = new Map<string, number>();
    for (const run of okRuns.get(wf) ?? []) unmarkedLeft.set(run.task, (unmarkedLeft.get(run.task) ?? 0) + 1);
    entries.forEach((entry, index) => {
      const task = entry.taskId ?? '?';
      if (entry.type === 'task-request') {
        if (!firstRequest.has(task)) firstRequest.set(task, index);
        return;
      }
      if (entry.type !== 'task-event') return;
      if (!firstRequest.has(task)) add(`audit entry ${index} (${describe(entry)}) of ${task} comes before its task-request`);
      if (finalState(entry) === 'completed') {
        if (entry.servedFrom !== 'idempotency-store') {
          const left = unmarkedLeft.get(task) ?? 0;
          if (left <= 0) add(`${task} completes again in the trail (entry ${index}) with no run behind it and no idempotency mark`);
          unmarkedLeft.set(task, left - 1);
        }
        if (!firstCompleted.has(task)) firstCompleted.set(task, index);
      }
    });
    for (const [task, index] of firstCompleted) {
      const parent = task.includes('/') ? task.slice(0, task.lastIndexOf('/')) : undefined;
      const parentIndex = parent ? firstCompleted.get(parent) : undefined;
      if (parentIndex !== undefined && parentIndex < index) add(`${parent} completed (entry ${parentIndex}) before its child ${task} (entry ${index})`);
    }
    for (const run of okRuns.get(wf) ?? []) {
      if (!firstRequest.has(run.task)) add(`${run.task} succeeded (journal) but its task-request is not in the trail`, [run.where]);
      else if (!firstCompleted.has(run.task)) add(`${run.task} succeeded (journal) but no completion is in the trail`, [run.where]);
    }
    // An attempt whose process died mid-run leaves a `working` event and nothing else: it must
    // say so. (One that died after its run, before its ack, ended in the trail already.)
    const taskRuns = new Map<string, Run[]>();
    for (const run of runs) if (run.wf === wf) taskRuns.set(run.task, [...(taskRuns.get(run.task) ?? []), run]);
    const crashed = runs.filter((r) => {
      if (r.wf !== wf || (causeOf.get(r) !== 'crash' && causeOf.get(r) !== 'pause')) return false;
      const list = taskRuns.get(r.task) ?? [];
      const previous = list[list.indexOf(r) - 1];
      return previous !== undefined && previous.end === undefined;
    });
    for (const rerun of crashed) {
      const marked = entries.some((e) => e.taskId === rerun.task && e.interrupted === true);
      if (!marked) add(`${rerun.task} was re-run after a crash or pause, but the trail marks no interrupted attempt`, [rerun.where]);
    }
  }
  return violations;
}

function finalState(entry: AuditEntry): string | undefined {
  const payload = entry.envelope.payload as { task?: { status?: { state?: string } } };
  const state = payload.task?.status?.state;
  return state === 'TASK_STATE_COMPLETED' ? 'completed' : state;
}

function describe(entry: AuditEntry): string {
  const payload = entry.envelope.payload as { statusUpdate?: { status?: { state?: string } }; task?: { status?: { state?: string } } };
  return payload.statusUpdate?.status?.state ?? payload.task?.status?.state ?? entry.type;
}
