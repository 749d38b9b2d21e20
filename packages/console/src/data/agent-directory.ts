import { randomUUID } from 'node:crypto';
import { runtimeHeaders, runtimeTopics, type Envelope, type Subscription, type Transport } from '@a2a-bus/core';

/** An agent instance as the console shows it. */
export interface AgentRow {
  readonly name: string;
  readonly instance: string;
  readonly capabilities: readonly string[];
  /** ms since its last announcement or heartbeat. */
  readonly heartbeatAgeMs: number;
  /** Tasks it holds now, when its heartbeats say (`a2a-bus.in-flight`). */
  readonly inFlight: number | undefined;
  readonly status: 'live' | 'silent' | 'down';
}

interface Known {
  readonly name: string;
  readonly instance: string;
  readonly capabilities: readonly string[];
  readonly seen: number;
  readonly inFlight: number | undefined;
  readonly down: boolean;
}

/**
 * The registry as the console sees it: rebuilt from the log (the last two TTLs), kept
 * current by a live subscription of its own. Read-only: the console announces nothing.
 * Bounded: instances not heard from for ten TTLs are forgotten.
 */
export class AgentDirectory {
  private readonly agents = new Map<string, Known>();
  private subscription: Subscription | undefined;
  private readonly transport: Transport;
  private readonly namespace: string;
  private readonly ttlMs: number;

  constructor(transport: Transport, namespace: string, ttlMs: number) {
    this.transport = transport;
    this.namespace = namespace;
    this.ttlMs = ttlMs;
  }

  async start(): Promise<void> {
    const topic = runtimeTopics(this.namespace).registry;
    this.subscription = await this.transport.subscribe(topic, (delivery) => this.apply(delivery.envelope), {
      group: `console-registry-${randomUUID().slice(0, 8)}`,
      startFrom: 'latest',
      deadLetterTopic: false,
      ephemeral: true,
    });
    const canSeek = this.transport.capabilities.replayFromTimestamp.support !== 'none';
    const from = canSeek ? { timestamp: Date.now() - 2 * this.ttlMs } : { beginning: true as const };
    for await (const record of this.transport.replay(topic, { from })) if (record.envelope) this.apply(record.envelope);
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }

  /** Every instance heard from lately, live first, then by name. */
  rows(now = Date.now()): AgentRow[] {
    const rows: AgentRow[] = [];
    for (const [instance, agent] of this.agents) {
      const age = Math.max(0, now - agent.seen);
      if (age > 10 * this.ttlMs) {
        this.agents.delete(instance);
        continue;
      }
      const status = agent.down ? 'down' : age <= this.ttlMs ? 'live' : 'silent';
      rows.push({ name: agent.name, instance, capabilities: agent.capabilities, heartbeatAgeMs: age, inFlight: agent.inFlight, status });
    }
    const order = { live: 0, silent: 1, down: 2 };
    return rows.sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name) || a.instance.localeCompare(b.instance));
  }

  /** Capabilities any known agent serves. */
  capabilities(): string[] {
    return [...new Set([...this.agents.values()].flatMap((agent) => agent.capabilities))].sort();
  }

  private apply(envelope: Envelope): void {
    if (envelope.kind !== 'agent-card') return;
    const headers = envelope.headers ?? {};
    const instance = headers[runtimeHeaders.instance] ?? envelope.key;
    const seen = Date.parse(envelope.createdAt);
    const known = this.agents.get(instance);
    if (known && known.seen >= seen) return;
    const inFlight = Number(headers[runtimeHeaders.inFlight] ?? Number.NaN);
    this.agents.set(instance, {
      name: envelope.payload.name,
      instance,
      capabilities: envelope.payload.skills.map((skill) => skill.id),
      seen,
      inFlight: Number.isInteger(inFlight) ? inFlight : undefined,
      down: headers[runtimeHeaders.type] === 'agent-down',
    });
  }
}
