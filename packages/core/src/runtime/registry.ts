import type { A2AAgentCard } from '../a2a/schema.js';
import type { Envelope } from '../envelope.js';
import type { Logger } from '../logger.js';
import type { Subscription, Transport } from '../transport.js';
import { trustHeaders } from '../trust/signature.js';
import { runtimeHeaders, type RuntimeRecordType } from './topics.js';

/** An agent instance the registry believes alive. */
export interface LiveAgent {
  readonly instanceId: string;
  readonly card: A2AAgentCard;
  /** Skill ids: the capabilities the agent serves. */
  readonly capabilities: readonly string[];
  readonly lastSeen: number;
  /** Said goodbye; kept as a tombstone so older announcements cannot bring it back. */
  readonly down?: boolean;
  /** The instance's public key (Ed25519, base64url) when its announcements are signed. */
  readonly publicKey?: string;
}

interface RegistryOptions {
  readonly transport: Transport;
  readonly topic: string;
  readonly instanceId: string;
  /** An agent not heard from for this long is dropped. */
  readonly ttlMs: number;
  readonly logger: Logger;
}

/**
 * The live agents, as announced on the registry topic. Agents announce themselves,
 * heartbeat every ttl/3 and say goodbye on close; one that dies simply stops
 * heartbeating and drops out after the TTL. On start the view is rebuilt from the log
 * (the last TTL's worth of announcements), then kept current by a live subscription.
 */
export class AgentRegistry {
  private readonly agents = new Map<string, LiveAgent>();
  private readonly waiters = new Set<() => void>();
  private subscription: Subscription | undefined;
  private readonly options: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const { transport, topic, ttlMs } = this.options;
    // Live first, then the recent past: nothing published in between is missed. Records
    // seen twice are harmless (the newest per instance wins; goodbyes are kept as tombstones).
    this.subscription = await transport.subscribe(topic, (delivery) => this.apply(delivery.envelope), {
      group: `registry-${this.options.instanceId}`,
      startFrom: 'latest',
      deadLetterTopic: false,
    });
    const canSeek = transport.capabilities.replayFromTimestamp.support !== 'none';
    const from = canSeek ? { timestamp: Date.now() - ttlMs } : { beginning: true as const };
    for await (const record of transport.replay(topic, { from })) if (record.envelope) this.apply(record.envelope);
  }

  /** Live agents now, one entry per instance. */
  live(): LiveAgent[] {
    const cutoff = Date.now() - this.options.ttlMs;
    const live: LiveAgent[] = [];
    for (const [instanceId, agent] of this.agents) {
      if (agent.lastSeen < cutoff - this.options.ttlMs) this.agents.delete(instanceId); // long gone: forget it
      else if (!agent.down && agent.lastSeen >= cutoff) live.push(agent);
    }
    return live;
  }

  serves(capability: string): boolean {
    return this.live().some((agent) => agent.capabilities.includes(capability));
  }

  /** Resolves when an agent serving `capability` is live, or when `signal` aborts. */
  async waitFor(capability: string, signal?: AbortSignal): Promise<void> {
    while (!this.serves(capability) && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    for (const wake of [...this.waiters]) wake();
  }

  /** Takes an announcement into account now (the bus's own, before it comes back from the log). */
  observe(envelope: Envelope): void {
    this.apply(envelope);
  }

  private apply(envelope: Envelope): void {
    if (envelope.kind !== 'agent-card') return;
    const type = envelope.headers?.[runtimeHeaders.type] as RuntimeRecordType | undefined;
    const instanceId = envelope.headers?.[runtimeHeaders.instance] ?? envelope.key;
    const lastSeen = Date.parse(envelope.createdAt);
    const known = this.agents.get(instanceId);
    if (known && known.lastSeen >= lastSeen) return; // older news
    const card = envelope.payload;
    const down = type === 'agent-down';
    const publicKey = envelope.headers?.[trustHeaders.signer];
    this.agents.set(instanceId, { instanceId, card, capabilities: card.skills.map((skill) => skill.id), lastSeen, down, ...(publicKey ? { publicKey } : {}) });
    this.options.logger.debug({ agent: card.name, instanceId, down }, down ? 'agent down' : 'agent seen');
    for (const wake of [...this.waiters]) wake();
  }
}
