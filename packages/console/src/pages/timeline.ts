import { html } from 'hono/html';
import type { Timeline } from '../data/timeline.js';
import { duration, type Html } from './layout.js';

const pct = (ms: number, total: number): string => `${((ms / total) * 100).toFixed(2)}%`;

/** A waterfall: one row per task, a bar per attempt (queued time before it), a mark where it was dead-lettered. */
export function timelinePage(timeline: Timeline): Html {
  const total = timeline.totalMs * 1.02;
  if (!timeline.tasks.length) return html`<p class="empty">nothing recorded for workflow <span class="mono">${timeline.workflowId}</span></p>`;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8].map((f) => f * timeline.totalMs);
  return html`<p class="hint">Workflow <span class="mono" id="workflow-id">${timeline.workflowId}</span>, started ${timeline.startedAt}, ${timeline.tasks.length} task(s) over ${duration(timeline.totalMs)}.</p>
<div class="legend"><span class="seg queued"></span>queued <span class="seg completed"></span>completed <span class="seg retried"></span>failed, retried <span class="seg failed"></span>failed <span class="seg running"></span>running <span class="dlq-mark">☠</span>dead-lettered</div>
<div id="timeline" class="waterfall">
  <div class="axis"><div class="label"></div><div class="track">${ticks.map((t) => html`<span class="tick" style="left:${pct(t, total)}">${duration(t)}</span>`)}</div></div>
  ${timeline.tasks.map((task, index) => {
    const first = task.attempts[0];
    return html`<div class="step ${task.state}" data-step="${index}" data-capability="${task.capability}" data-state="${task.state}" data-attempts="${task.attempts.length}">
    <div class="label" style="padding-left:${task.depth * 16 + 6}px">
      <b class="capability">${task.capability}</b>
      <span class="mono task-id" title="${task.taskId}">${task.taskId.length > 24 ? `…${task.taskId.slice(-22)}` : task.taskId}</span>
      <span class="meta">${task.attempts.length} attempt(s) · ${duration(task.durationMs)} · <span class="status ${task.state}">${task.state}</span>${first?.instance ? html` · <span class="mono">${first.instance}</span>` : ''}</span>
    </div>
    <div class="track">
      ${first ? html`<span class="seg queued" style="left:${pct(task.requestedMs, total)};width:${pct(Math.max(0, first.startMs - task.requestedMs), total)}" title="queued ${duration(first.startMs - task.requestedMs)}"></span>` : ''}
      ${task.attempts.map((attempt) => {
        const end = attempt.endMs ?? timeline.totalMs;
        return html`<span class="seg attempt ${attempt.outcome}" style="left:${pct(attempt.startMs, total)};width:${pct(Math.max(end - attempt.startMs, timeline.totalMs / 400), total)}" title="attempt ${attempt.number} on ${attempt.instance ?? '?'}: ${attempt.outcome} after ${duration(end - attempt.startMs)}${attempt.note ? ` — ${attempt.note}` : ''}"></span>`;
      })}
      ${task.deadLetterMs !== undefined ? html`<span class="dlq-mark" style="left:${pct(task.deadLetterMs, total)}" title="dead-lettered">☠</span>` : ''}
    </div>
  </div>`;
  })}
</div>`;
}
