import { runtimeHeaders, textOfParts, type Envelope } from '@a2a-bus/core';
import type { AnomalyDetector } from './anomaly-detector.js';

const finalStates = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED', 'TASK_STATE_INPUT_REQUIRED']);
const retryNote = /^attempt \d+ failed: /;

/** The bus instance of an agent instance id (`<bus instance>/<agent name>`). */
export function busOfAgent(agentInstanceId: string): string {
  const slash = agentInstanceId.lastIndexOf('/');
  return slash > 0 ? agentInstanceId.slice(0, slash) : agentInstanceId;
}

/** A registry record (announcement, heartbeat, goodbye) tells when an agent's bus was last heard. */
export function observeRegistryRecord(detector: AnomalyDetector, envelope: Envelope): void {
  if (envelope.kind !== 'agent-card') return;
  const instance = envelope.headers?.[runtimeHeaders.instance] ?? envelope.key;
  const type = envelope.headers?.[runtimeHeaders.type];
  if (type === 'agent-down') detector.silence.gone(busOfAgent(instance));
  else detector.silence.heard(busOfAgent(instance), Date.parse(envelope.createdAt));
}

/**
 * A workflow-log record, as an independent observer reads it: task requests (payload size,
 * demand), `working` events (who holds the task; retries), final tasks (latency from start to
 * end on that holder, dead letters, completions).
 */
export function observeWorkflowRecord(detector: AnomalyDetector, envelope: Envelope): void {
  const type = envelope.headers?.[runtimeHeaders.type];
  const capability = envelope.headers?.[runtimeHeaders.capability];
  const taskId = envelope.headers?.[runtimeHeaders.taskId];
  if (!capability || !taskId) return;
  const series = detector.seriesOf(capability);
  const at = Date.parse(envelope.createdAt);
  if (type === 'task-request') {
    series.throughput.arrive(envelope.key);
    const bytes = Buffer.byteLength(JSON.stringify(envelope.payload));
    detector.report('payload-size', { capability }, series.payloadSize.observe(bytes, taskId, at));
    return;
  }
  if (type !== 'task-event' || envelope.kind !== 'stream-response') return;
  const holder = envelope.sender ?? 'unknown';
  const statusUpdate = 'statusUpdate' in envelope.payload ? envelope.payload.statusUpdate : undefined;
  const task = 'task' in envelope.payload ? envelope.payload.task : undefined;
  if (statusUpdate?.status.state === 'TASK_STATE_WORKING') {
    const note = statusUpdate.status.message ? textOfParts(statusUpdate.status.message.parts) : '';
    if (retryNote.test(note)) {
      detector.report('retry-rate', { capability, agent: holder }, series.retryRate.observe(true, taskId));
      return;
    }
    if (!detector.tracker.get(taskId) || detector.tracker.get(taskId)?.holder !== holder || !note) {
      detector.tracker.start({ taskId, workflowId: envelope.key, capability, holder, since: at });
    }
    return;
  }
  if (task && finalStates.has(task.status.state)) {
    const held = detector.tracker.finish(taskId);
    series.throughput.complete();
    if (held) {
      // Latency per capability and agent: one slow instance stands out from its healthy peers.
      const ms = Math.max(0, at - held.since);
      const perAgent = detector.agentSeriesOf(capability, holder);
      detector.report('handler-latency', { capability, agent: holder }, perAgent.observeLatency(ms, taskId, at));
    }
    detector.report('retry-rate', { capability, agent: holder }, series.retryRate.observe(false, taskId));
    const note = task.status.message ? textOfParts(task.status.message.parts) : '';
    const deadLettered = task.status.state === 'TASK_STATE_FAILED' && note.startsWith('failed after ');
    detector.report('dead-letter-rate', { capability, agent: holder }, series.deadLetterRate.observe(deadLettered, taskId));
  }
}
