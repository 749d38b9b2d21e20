import type { Clock, LeaseStore } from '@a2a-bus/core/adapter';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

interface LeaseRecord {
  /** Member holding the partition; empty when released. */
  readonly holder: string;
  readonly ttlMs: number;
  /** Released by a member that handed its unacked messages back first (nak). */
  readonly clean?: boolean;
  /**
   * A release's: the group consumer's delivery sequence as far as the releasing member saw
   * it. Deliveries past it went to that member's ended pull request after it let go (the
   * server keeps one open while anything else shows interest in its inbox: a `>` subscriber).
   */
  readonly delivered?: number;
}

interface MemberRecord {
  readonly member: string;
  readonly ttlMs: number;
  readonly alive: boolean;
}

/** A partition taken from a holder whose lease lapsed. */
export interface Takeover {
  /**
   * By when (our clock) the holder had stopped keeping its messages alive: it renews its
   * leases and calls `working()` on what it holds in the same rhythm, so no later than one
   * renewal interval (a third of its TTL) after its last lease write, plus a slow round.
   */
  readonly holderQuietAt: number;
}

/** How late a holder's renewal round may run behind its interval. */
const HOLDER_ROUND_SLACK_MS = 1_000;

interface Stored<T> {
  readonly seq: number;
  readonly value: T;
  /** When the server stored it (server clock, ms). */
  readonly storedAt: number;
}

/**
 * A `LeaseStore` on a JetStream stream that keeps the last record per subject (what a KV
 * bucket is underneath, built by hand so it works on nats-server 2.9 without a KV client).
 * Writes are compare-and-set with `Nats-Expected-Last-Subject-Sequence`.
 *
 * Expiry needs no synchronised clocks: a record counts as expired when this process has
 * seen it unchanged for the TTL its writer declared (Kubernetes leader election works the
 * same way), or when the server stored it more than that TTL before it stored this
 * member's own latest heartbeat — both times on the server's clock, so a process that has
 * just started does not have to watch every dead member's record for a TTL first (with
 * SIGKILLed members' records piling up, freshly restarted workers used to count them all
 * as alive and leave partitions to nobody). Holders rewrite their records every round, so
 * only dead members' records stand still.
 */
export class NatsLeaseStore implements LeaseStore {
  private readonly observed = new Map<string, { seq: number; at: number }>();
  /** The server's time when it stored our latest heartbeat, and our clock then: the server's "now", estimated. */
  private serverTime: { readonly server: number; readonly local: number } | undefined;
  /** Partitions taken from a holder whose lease lapsed: when it went quiet, on our clock. */
  private readonly takenOver = new Map<number, Takeover>();
  /** Partitions taken after a clean release: the delivery sequence the releasing member had seen. */
  private readonly handedOver = new Map<number, number>();
  /** Per partition, the delivery sequence our next release of it records (see `LeaseRecord.delivered`). */
  private readonly deliveredAtRelease = new Map<number, number>();
  /**
   * Members whose own record stood still for its TTL: dead (or stalled, and then fenced by
   * their own clock). Their leases were renewed in the same rounds as that record, so they
   * are as stale: taken at once instead of after watching each lease for another TTL.
   */
  private readonly dead = new Set<string>();
  /**
   * Per partition, the sequence of this member's latest lease write: a renewal is a
   * compare-and-set on it, one request instead of a read and a write; when someone else
   * wrote since, it fails and the lease is read and decided as before.
   */
  private readonly written = new Map<number, number>();
  /** Sequence of our latest member record: lower next time means the lease stream was recreated. */
  private heartbeatSeq = 0;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly stream: string;
  private readonly base: string;
  private readonly clock: Clock;
  private readonly onReleased: () => void;

  constructor(options: {
    js: JetStreamClient;
    jsm: JetStreamManager;
    stream: string;
    /** Subject prefix of this (topic, group). */
    base: string;
    clock: Clock;
    /** Called after a lease was given up, so others can be told to take it now. */
    onReleased: () => void;
  }) {
    this.js = options.js;
    this.jsm = options.jsm;
    this.stream = options.stream;
    this.base = options.base;
    this.clock = options.clock;
    this.onReleased = options.onReleased;
  }

  async heartbeat(member: string, ttlMs: number): Promise<string[]> {
    const seq = await this.put(this.memberSubject(member), { member, ttlMs, alive: true }, requestBudget(ttlMs));
    // Recreated (a server without file storage restarted): remembered sequences mean nothing.
    if (seq < this.heartbeatSeq) this.written.clear();
    this.heartbeatSeq = seq;
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: `${this.base}.m.*` });
    const subjects = Object.keys(info.state.subjects ?? {});
    const records = await Promise.all(subjects.map(async (subject) => ({ subject, record: await this.get<MemberRecord>(subject) })));
    const own = records.find(({ record }) => record?.value.member === member)?.record;
    if (own) this.serverTime = { server: own.storedAt, local: this.clock.now() };
    this.forgetLongGone(records);
    const live = records.map(({ subject, record }) => {
      if (!record?.value.alive) return undefined;
      if (record.value.member === member) return member;
      if (!this.expired(subject, record.seq, record.value.ttlMs, record.storedAt)) {
        this.dead.delete(record.value.member);
        return record.value.member;
      }
      this.dead.add(record.value.member);
      return undefined;
    });
    return live.filter((m): m is string => m !== undefined);
  }

  /**
   * Purges the records of members gone for ten TTLs (at least a minute) on the server's clock:
   * every round reads each member record, and a SIGKILLed member's record would otherwise stay
   * until the lease stream's max age. A member that was only stalled writes its record again
   * on its next heartbeat.
   */
  private forgetLongGone(records: ReadonlyArray<{ subject: string; record: Stored<MemberRecord> | undefined }>): void {
    const server = this.serverTime;
    if (!server) return;
    const now = server.server + (this.clock.now() - server.local);
    for (const { subject, record } of records) {
      if (!record || now - record.storedAt < Math.max(60_000, 10 * record.value.ttlMs)) continue;
      this.observed.delete(subject);
      void this.jsm.streams.purge(this.stream, { filter: subject }).catch(() => undefined);
    }
  }

  async leave(member: string): Promise<void> {
    await this.put(this.memberSubject(member), { member, ttlMs: 0, alive: false });
  }

  async acquire(partition: number, member: string, ttlMs: number): Promise<boolean> {
    const subject = this.partitionSubject(partition);
    const mine: LeaseRecord = { holder: member, ttlMs };
    const budget = requestBudget(ttlMs);
    const ours = this.written.get(partition);
    // Still the last write on the subject: still ours, renewed in one request.
    if (ours !== undefined && (await this.writeLease(partition, mine, ours, budget))) return true;
    const current = await this.get<LeaseRecord>(subject);
    if (!current) return this.writeLease(partition, mine, 0, budget);
    const { holder } = current.value;
    // Only the sequence of the release this acquire takes over applies to the assignment it leads to.
    this.handedOver.delete(partition);
    if (holder === member) return this.writeLease(partition, mine, current.seq, budget);
    if (holder === '') {
      const taken = await this.writeLease(partition, mine, current.seq, budget);
      if (taken && current.value.delivered !== undefined) this.handedOver.set(partition, current.value.delivered);
      return taken;
    }
    const lapsed = this.expired(subject, current.seq, current.value.ttlMs, current.storedAt);
    if (!lapsed && !this.dead.has(holder)) return false;
    const taken = await this.writeLease(partition, mine, current.seq, budget);
    if (taken) this.takenOver.set(partition, { holderQuietAt: this.localTime(current.storedAt) + current.value.ttlMs / 3 + HOLDER_ROUND_SLACK_MS });
    return taken;
  }

  async release(partition: number, member: string): Promise<void> {
    const subject = this.partitionSubject(partition);
    const delivered = this.deliveredAtRelease.get(partition);
    this.deliveredAtRelease.delete(partition);
    const current = await this.get<LeaseRecord>(subject);
    this.written.delete(partition);
    if (!current || current.value.holder !== member) return;
    const released: LeaseRecord = delivered === undefined ? { holder: '', ttlMs: 0, clean: true } : { holder: '', ttlMs: 0, clean: true, delivered };
    if ((await this.compareAndSet(subject, released, current.seq)) !== undefined) this.onReleased();
  }

  /** The delivery sequence the next release of `partition` records: everything up to it was acked or handed back. */
  noteHandedBack(partition: number, delivered: number | undefined): void {
    if (delivered === undefined) this.deliveredAtRelease.delete(partition);
    else this.deliveredAtRelease.set(partition, delivered);
  }

  /**
   * Once after this member took `partition` from a clean release that recorded a delivery
   * sequence: deliveries past it are the releasing member's, astray, back after AckWait.
   */
  consumeHandover(partition: number): number | undefined {
    const delivered = this.handedOver.get(partition);
    this.handedOver.delete(partition);
    return delivered;
  }

  /** A compare-and-set of our lease record; remembers its sequence when it went through. */
  private async writeLease(partition: number, value: LeaseRecord, expectedSeq: number, timeout: number): Promise<boolean> {
    this.written.delete(partition);
    const seq = await this.compareAndSet(this.partitionSubject(partition), value, expectedSeq, timeout);
    if (seq === undefined) return false;
    this.written.set(partition, seq);
    return true;
  }

  /**
   * Once after this member took `partition` from a holder whose lease lapsed (it died
   * without handing its unacked messages back, so they return only after AckWait): when the
   * holder went quiet. It kept its messages alive (`working()`) until then at the latest.
   */
  consumeTakeover(partition: number): Takeover | undefined {
    const takeover = this.takenOver.get(partition);
    this.takenOver.delete(partition);
    return takeover;
  }

  /** A time on the server's clock as our clock had it (the same when no heartbeat told us yet). */
  private localTime(serverMs: number): number {
    const server = this.serverTime;
    return server ? serverMs - server.server + server.local : serverMs;
  }

  private expired(subject: string, seq: number, ttlMs: number, storedAt: number): boolean {
    const now = this.clock.now();
    const seen = this.observed.get(subject);
    if (!seen || seen.seq !== seq) this.observed.set(subject, { seq, at: now });
    else if (now - seen.at >= ttlMs) return true;
    // On the server's clock: stored more than the TTL before the server's "now".
    const server = this.serverTime;
    return server !== undefined && server.server + (now - server.local) - storedAt >= ttlMs;
  }

  private memberSubject(member: string): string {
    return `${this.base}.m.${member}`;
  }

  private partitionSubject(partition: number): string {
    return `${this.base}.p.${partition}`;
  }

  private async get<T>(subject: string): Promise<Stored<T> | undefined> {
    const message = await this.jsm.streams.getMessage(this.stream, { last_by_subj: subject });
    if (!message) return undefined;
    return { seq: message.seq, value: message.json<T>(), storedAt: message.time.getTime() };
  }

  /** Writes a record; resolves to its stream sequence. */
  private async put(subject: string, value: object, timeout?: number): Promise<number> {
    return (await this.js.publish(subject, JSON.stringify(value), timeout ? { timeout } : {})).seq;
  }

  /** The new record's sequence, or undefined when someone else wrote first. */
  private async compareAndSet(subject: string, value: LeaseRecord, expectedSeq: number, timeout?: number): Promise<number | undefined> {
    try {
      const ack = await this.js.publish(subject, JSON.stringify(value), { expect: { lastSubjectSequence: expectedSeq }, ...(timeout ? { timeout } : {}) });
      return ack.seq;
    } catch (error) {
      if (isWrongLastSequence(error)) return undefined;
      throw error;
    }
  }
}

/**
 * How long one lease write may wait for its PubAck: a quarter of the lease (at least a
 * second), so a write lost in a server restart (sent while JetStream was still recovering)
 * is retried by a later round — which comes sooner after a failed one — before the lease runs
 * out, instead of hanging for the client's request timeout and fencing every partition.
 */
export function requestBudget(ttlMs: number): number {
  return Math.max(1_000, Math.floor(ttlMs / 4));
}

/** JetStream error 10071: wrong last sequence (someone else wrote first). */
function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10071;
}
