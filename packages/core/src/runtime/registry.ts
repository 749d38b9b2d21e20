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
  /** When this process last heard from it, on this process's clock (never the sender's). */
  readonly lastSeen: number;
  /** Said goodbye; kept as a tombstone so older announcements cannot bring it back. */
  readonly down?: boolean;
  /** Tasks it was running at its last heartbeat. */
  readonly inFlight?: number;
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
 *
 * Liveness is measured on the receiver's clock: an announcement counts as seen when it
 * arrives (a replayed one when the broker stored it), never at the sender's `createdAt`,
 * so a sender whose clock is off by minutes is neither dropped nor kept alive too long.
 * Announcements of one instance share a key, so they arrive in order: the last one wins.
 */
export class AgentRegistry {
  private readonly agents = new Map<string, LiveAgent>();
  /** Live announcements that arrived while the start-up replay ran: applied after it, in order. */
  private arrivedDuringReplay: Array<{ envelope: Envelope; at: number }> | undefined = [];
  private appliedSincePrune = 0;
  private readonly waiters = new Set<() => void>();
  /** Instances `dropouts()` reported, until they are heard from again or forgotten. */
  private readonly reportedLost = new Set<string>();
  private subscription: Subscription | undefined;
  private readonly options: RegistryOptions;
  /** This bus's own announcements on their way (envelope id → when it was sent), bounded. */
  private readonly sentAt = new Map<string, number>();
  /** Send time of this bus's newest announcement that came back through the feed. */
  private feedConfirmedAt: number | undefined;
  private stallReported = false;

  constructor(options: RegistryOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const { transport, topic, ttlMs } = this.options;
    // Live first, then the recent past: nothing published in between is missed. Records
    // seen twice are harmless (the newest per instance wins; goodbyes are kept as tombstones).
    this.subscription = await transport.subscribe(topic, (delivery) => this.arrived(delivery.envelope), {
      group: `registry-${this.options.instanceId}`,
      startFrom: 'latest',
      ephemeral: true,
      deadLetterTopic: false,
    });
    const canSeek = transport.capabilities.replayFromTimestamp.support !== 'none';
    const from = canSeek ? { timestamp: Date.now() - ttlMs } : { beginning: true as const };
    const now = Date.now();
    for await (const record of transport.replay(topic, { from })) if (record.envelope) this.apply(record.envelope, Math.min(record.timestamp, now));
    const arrived = this.arrivedDuringReplay ?? [];
    this.arrivedDuringReplay = undefined;
    for (const { envelope, at } of arrived) this.apply(envelope, at);
  }

  /**
   * The time the view is current up to. A bus that announces agents hears its own heartbeats
   * (every ttl/3) come back through the feed; while they do, that is now. When they stop
   * coming back — the registry subscription stalls, or the broker is down or restarting —
   * what the feed has not delivered says nothing about the other agents: the clock stops two
   * heartbeats after the last one that came back, so nobody drops out for a stall of the
   * feed (a dispatch then waits for its timeout instead of failing at once with no agent).
   * A bus that announces nothing cannot tell, and goes by its own clock.
   */
  private viewTime(): number {
    const now = Date.now();
    if (this.feedConfirmedAt === undefined) return now;
    return Math.min(now, this.feedConfirmedAt + (2 * this.options.ttlMs) / 3);
  }

  /** Live agents now, one entry per instance. */
  live(): LiveAgent[] {
    const cutoff = this.viewTime() - this.options.ttlMs;
    this.prune();
    const live: LiveAgent[] = [];
    for (const agent of this.agents.values()) if (!agent.down && agent.lastSeen >= cutoff) live.push(agent);
    return live;
  }

  /** Known instances, live or not yet forgotten (bounded: gone ones are dropped after two TTLs). */
  get size(): number {
    return this.agents.size;
  }

  /**
   * Agents that fell silent (no heartbeat for a TTL, no goodbye) since the last call, each
   * reported once; one heard from again may be reported again later.
   */
  dropouts(): LiveAgent[] {
    this.reportStall();
    const cutoff = this.viewTime() - this.options.ttlMs;
    const lost: LiveAgent[] = [];
    for (const agent of this.agents.values()) {
      if (agent.down || agent.lastSeen >= cutoff) this.reportedLost.delete(agent.instanceId);
      else if (!this.reportedLost.has(agent.instanceId)) {
        this.reportedLost.add(agent.instanceId);
        lost.push(agent);
      }
    }
    for (const instanceId of this.reportedLost) if (!this.agents.has(instanceId)) this.reportedLost.delete(instanceId);
    return lost;
  }

  /** Logs once when this bus's own heartbeats stopped coming back for a TTL, and once when they return. */
  private reportStall(): void {
    if (this.feedConfirmedAt === undefined) return;
    const silentMs = Date.now() - this.feedConfirmedAt;
    const stalled = silentMs > this.options.ttlMs;
    if (stalled === this.stallReported) return;
    this.stallReported = stalled;
    if (stalled)
      this.options.logger.warn(
        { topic: this.options.topic, silentMs },
        'registry feed stalled: own heartbeats not coming back; keeping the agents last known live',
      );
    else this.options.logger.info({ topic: this.options.topic }, 'registry feed current again');
  }

  /** Forgets instances not heard from for two TTLs (tombstones included: their old news is long past). */
  private prune(): void {
    this.appliedSincePrune = 0;
    const forgetBefore = this.viewTime() - 2 * this.options.ttlMs;
    for (const [instanceId, agent] of this.agents) if (agent.lastSeen < forgetBefore) this.agents.delete(instanceId);
  }

  /** Whether a live agent serves `capability` (asked on every dispatch: no list is built). */
  serves(capability: string): boolean {
    const cutoff = this.viewTime() - this.options.ttlMs;
    for (const agent of this.agents.values()) if (!agent.down && agent.lastSeen >= cutoff && agent.capabilities.includes(capability)) return true;
    return false;
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

  /** This bus is about to publish one of its own announcements: its return through the feed confirms the feed is current. */
  sending(envelope: Envelope): void {
    this.sentAt.set(envelope.id, Date.now());
    if (this.sentAt.size > 256) this.sentAt.delete(this.sentAt.keys().next().value!);
  }

  /** Takes an announcement into account now (the bus's own, before it comes back from the log). */
  observe(envelope: Envelope): void {
    this.apply(envelope, Date.now());
  }

  private arrived(envelope: Envelope): void {
    const sent = this.sentAt.get(envelope.id);
    if (sent !== undefined) {
      // Our own announcement is back: the feed has delivered everything up to its send time.
      for (const [id, at] of this.sentAt) if (at <= sent) this.sentAt.delete(id);
      this.feedConfirmedAt = Math.max(this.feedConfirmedAt ?? 0, sent);
    }
    if (this.arrivedDuringReplay) this.arrivedDuringReplay.push({ envelope, at: Date.now() });
    else this.apply(envelope, Date.now());
  }

  private apply(envelope: Envelope, seenAt: number): void {
    if (envelope.kind !== 'agent-card') return;
    const type = envelope.headers?.[runtimeHeaders.type] as RuntimeRecordType | undefined;
    const instanceId = envelope.headers?.[runtimeHeaders.instance] ?? envelope.key;
    const known = this.agents.get(instanceId);
    // A goodbye stands against the heartbeat that raced it (or its own echo from the log).
    if (known?.down && type !== 'agent-up') return;
    const lastSeen = Math.max(seenAt, known?.lastSeen ?? 0);
    if (++this.appliedSincePrune >= 1_024) this.prune();
    const card = envelope.payload;
    const down = type === 'agent-down';
    const inFlight = Number(envelope.headers?.[runtimeHeaders.inFlight] ?? Number.NaN);
    const publicKey = envelope.headers?.[trustHeaders.signer];
    this.agents.set(instanceId, {
      instanceId,
      card,
      capabilities: card.skills.map((skill) => skill.id),
      lastSeen,
      down,
      ...(Number.isInteger(inFlight) ? { inFlight } : {}),
      ...(publicKey ? { publicKey } : {}),
    });
    this.options.logger.debug({ agent: card.name, instanceId, down }, down ? 'agent down' : 'agent seen');
    for (const wake of [...this.waiters]) wake();
  }
}
