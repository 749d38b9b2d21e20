import type { Envelope } from '@a2a-bus/core';

/** One record of a partition: offset = its index. */
export interface StoredRecord {
  readonly offset: number;
  readonly key: string;
  /** Published envelopes are kept decoded; `publishRaw` bytes are kept as bytes. */
  readonly value: Envelope | Uint8Array;
  readonly timestamp: number;
  /** Encoded size, measured once at publish (charged against a subscription's maxInFlightBytes). */
  readonly bytes: number;
}

/** A delivered, not yet settled record of a group (Redis calls it the pending entries list). */
export interface PendingEntry {
  deliveries: number;
  /** Member holding it now; undefined once that member let go (revoked, crashed). */
  holder: string | undefined;
}

/** What a group needs from a member to move partitions between members. */
export interface GroupMember {
  readonly id: string;
  /** This member owns `partition` now. */
  assign(partition: number): void;
  /** Stop handing out `partition` and finish its running handlers. */
  revoke(partition: number): Promise<void>;
  /** New records (or released pending entries) wait on `partition`. */
  wake(partition: number): void;
}

/**
 * A consumer group's state on one topic: a cursor per partition (next record never
 * delivered), the pending entries per partition, and which member owns each partition.
 */
export class MemoryGroup {
  readonly cursors: number[];
  readonly pending: Map<number, PendingEntry>[];
  /** Pending entries per partition that no member holds: redelivered first. */
  readonly orphans: number[];
  private readonly owners: (string | undefined)[];
  private readonly members = new Map<string, GroupMember>();
  private rebalancing: Promise<void> = Promise.resolve();

  constructor(partitionCount: number, startOffsets: number[]) {
    this.cursors = startOffsets;
    this.pending = Array.from({ length: partitionCount }, () => new Map());
    this.orphans = Array.from({ length: partitionCount }, () => 0);
    this.owners = Array.from({ length: partitionCount }, () => undefined);
  }

  ownerOf(partition: number): string | undefined {
    return this.owners[partition];
  }

  join(member: GroupMember): Promise<void> {
    this.members.set(member.id, member);
    return this.rebalance();
  }

  /** The member is gone (it drained first, or crashed): what it still held goes to the next owner. */
  leave(memberId: string): Promise<void> {
    this.members.delete(memberId);
    for (let p = 0; p < this.owners.length; p += 1) {
      if (this.owners[p] === memberId) {
        this.owners[p] = undefined;
        this.orphan(p, memberId);
      }
    }
    return this.rebalance();
  }

  /** Pending entries of `partition` held by `memberId` are free for the next owner. */
  orphan(partition: number, memberId: string): void {
    for (const entry of this.pending[partition]!.values()) {
      if (entry.holder !== memberId) continue;
      entry.holder = undefined;
      this.orphans[partition]! += 1;
    }
  }

  /** Partition p → the (p mod n)-th member in id order. Rounds never overlap. */
  private rebalance(): Promise<void> {
    // Rounds run one after another; a failed round is logged by the caller and never blocks the next.
    const round = this.rebalancing.then(() => this.rebalanceRound());
    this.rebalancing = round.catch(() => {});
    return round;
  }

  private async rebalanceRound(): Promise<void> {
    const ids = [...this.members.keys()].sort();
    await Promise.all(
      this.owners.map(async (current, partition) => {
        const target = ids.length ? ids[partition % ids.length] : undefined;
        if (current === target) return;
        const previous = current ? this.members.get(current) : undefined;
        if (previous) {
          await previous.revoke(partition);
          this.orphan(partition, previous.id);
        }
        this.owners[partition] = target;
        const next = target ? this.members.get(target) : undefined;
        if (next) {
          next.assign(partition);
          next.wake(partition);
        }
      }),
    );
  }

  wake(partition: number): void {
    const owner = this.owners[partition];
    if (owner) this.members.get(owner)?.wake(partition);
  }
}

/** A topic: partitions of records, and the groups reading it. */
export class MemoryTopic {
  readonly partitions: StoredRecord[][];
  readonly groups = new Map<string, MemoryGroup>();
  readonly name: string;

  constructor(name: string, partitionCount: number) {
    this.name = name;
    this.partitions = Array.from({ length: partitionCount }, () => []);
  }

  append(partition: number, key: string, value: Envelope | Uint8Array, timestamp: number, bytes: number): number {
    const records = this.partitions[partition]!;
    const offset = records.length;
    records.push({ offset, key, value, timestamp, bytes });
    for (const group of this.groups.values()) group.wake(partition);
    return offset;
  }

  /** Drops a group's state (an ephemeral group whose subscription closed). */
  dropGroup(name: string): void {
    this.groups.delete(name);
  }

  group(name: string, startFrom: 'earliest' | 'latest'): MemoryGroup {
    let group = this.groups.get(name);
    if (!group) {
      const starts = this.partitions.map((records) => (startFrom === 'latest' ? records.length : 0));
      group = new MemoryGroup(this.partitions.length, starts);
      this.groups.set(name, group);
    }
    return group;
  }
}

/**
 * The broker of the memory backend: the log and the groups' state. Transports are its
 * clients; tearing every transport down and building new ones on the same broker is what
 * a broker restart looks like here — the log lives on.
 */
export class MemoryBroker {
  private readonly topics = new Map<string, MemoryTopic>();

  /** The topic, created with `partitionCount` partitions on first use. */
  topic(name: string, partitionCount: number): MemoryTopic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = new MemoryTopic(name, partitionCount);
      this.topics.set(name, topic);
    }
    return topic;
  }

  existingTopic(name: string): MemoryTopic | undefined {
    return this.topics.get(name);
  }

  /** Every topic, for lag inspection. */
  allTopics(): IterableIterator<MemoryTopic> {
    return this.topics.values();
  }
}

const namedBrokers = new Map<string, MemoryBroker>();

/** Brokers by name, so `memory://name` in two places of one process reaches the same log. */
export function namedBroker(name: string): MemoryBroker {
  let broker = namedBrokers.get(name);
  if (!broker) {
    broker = new MemoryBroker();
    namedBrokers.set(name, broker);
  }
  return broker;
}
