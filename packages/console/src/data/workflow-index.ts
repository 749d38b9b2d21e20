import { randomUUID } from 'node:crypto';
import { runtimeHeaders, runtimeTopics, type Envelope, type Subscription, type Transport } from '@a2a-bus/core';

/** A workflow as the search list shows it. */
export interface WorkflowRow {
  readonly workflowId: string;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly capabilities: readonly string[];
  readonly steps: number;
  /** The last final state seen (completed, failed...), or `running`. */
  readonly status: string;
}

interface Entry {
  firstAt: number;
  lastAt: number;
  capabilities: Set<string>;
  steps: number;
  status: string;
  open: Set<string>;
}

/**
 * Recent workflows for the search page: read from the workflow log (the last
 * `lookbackMs`, then live), at most `max` workflows kept (the oldest are dropped).
 */
export class WorkflowIndex {
  private readonly workflows = new Map<string, Entry>();
  private subscription: Subscription | undefined;
  private readonly transport: Transport;
  private readonly namespace: string;
  private readonly lookbackMs: number;
  private readonly max: number;

  constructor(transport: Transport, namespace: string, lookbackMs: number, max = 5_000) {
    this.transport = transport;
    this.namespace = namespace;
    this.lookbackMs = lookbackMs;
    this.max = max;
  }

  async start(): Promise<void> {
    const topic = runtimeTopics(this.namespace).workflows;
    this.subscription = await this.transport.subscribe(topic, (delivery) => this.apply(delivery.envelope), {
      group: `console-workflows-${randomUUID().slice(0, 8)}`,
      startFrom: 'latest',
      deadLetterTopic: false,
      ephemeral: true,
    });
    const canSeek = this.transport.capabilities.replayFromTimestamp.support !== 'none';
    const from = canSeek ? { timestamp: Date.now() - this.lookbackMs } : { beginning: true as const };
    for await (const record of this.transport.replay(topic, { from })) if (record.envelope) this.apply(record.envelope);
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }

  /** Workflows whose id, or a capability, contains `query` (all when empty), newest first. */
  search(query = '', limit = 100): WorkflowRow[] {
    const needle = query.trim().toLowerCase();
    const rows: WorkflowRow[] = [];
    for (const [workflowId, entry] of this.workflows) {
      if (needle && !workflowId.toLowerCase().includes(needle) && ![...entry.capabilities].some((c) => c.toLowerCase().includes(needle))) continue;
      rows.push({
        workflowId,
        firstAt: entry.firstAt,
        lastAt: entry.lastAt,
        capabilities: [...entry.capabilities],
        steps: entry.steps,
        status: entry.open.size ? 'running' : entry.status,
      });
    }
    return rows.sort((a, b) => b.lastAt - a.lastAt).slice(0, limit);
  }

  /** Every capability a recent workflow used. */
  capabilities(): string[] {
    const all = new Set<string>();
    for (const entry of this.workflows.values()) for (const capability of entry.capabilities) all.add(capability);
    return [...all];
  }

  private apply(envelope: Envelope): void {
    const at = Date.parse(envelope.createdAt);
    let entry = this.workflows.get(envelope.key);
    if (!entry) {
      entry = { firstAt: at, lastAt: at, capabilities: new Set(), steps: 0, status: 'running', open: new Set() };
      this.workflows.set(envelope.key, entry);
      if (this.workflows.size > this.max) this.workflows.delete(this.workflows.keys().next().value!);
    }
    entry.firstAt = Math.min(entry.firstAt, at);
    entry.lastAt = Math.max(entry.lastAt, at);
    const capability = envelope.headers?.[runtimeHeaders.capability];
    if (capability) entry.capabilities.add(capability);
    const taskId = envelope.headers?.[runtimeHeaders.taskId];
    const type = envelope.headers?.[runtimeHeaders.type];
    if (type === 'task-request' && taskId) {
      entry.steps += 1;
      entry.open.add(taskId);
    }
    if (envelope.kind === 'stream-response' && 'task' in envelope.payload && envelope.payload.task && taskId) {
      const state = envelope.payload.task.status.state;
      if (state !== 'TASK_STATE_WORKING' && state !== 'TASK_STATE_SUBMITTED') {
        entry.open.delete(taskId);
        entry.status = state.replace('TASK_STATE_', '').toLowerCase();
      }
    }
  }
}
