import type { Envelope } from '@a2a-bus/core';
import { PartitionLog } from './partition-log.js';
import { PendingEntries } from './pending-entries.js';
import { checkInterval, trimPartition, type RetentionLimits } from './retention.js';

export type { StoredRecord } from './partition-log.js';

export type { PendingEntry } from './pending-entries.js';

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
  readonly pending: PendingEntries[];
  /** Pending entries per partition that no member holds: redelivered first. */
  readonly orphans: number[];
  private readonly owners: (string | undefined)[];
  private readonly members = new Map<string, GroupMember>();
  private rebalancing: Promise<void> = Promise.resolve();

  constructor(partitionCount: number, startOffsets: number[]) {
    this.cursors = startOffsets;
    this.pending = Array.from({ length: partitionCount }, () => new PendingEntries());
    this.orphans = Array.from({ length: partitionCount }, () => 0);
    this.owners = Array.from({ length: partitionCount }, () => undefined);
  }

  /** The lowest offset of `partition` this group has not acknowledged: its oldest pending entry, or its cursor. */
  committed(partition: number): number {
    return Math.min(this.cursors[partition]!, this.pending[partition]!.lowest() ?? Number.POSITIVE_INFINITY);
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

/**
 * A topic: partitions of records, and the groups reading it. With retention limits, the
 * oldest records of a partition are dropped as new ones arrive, never one that a group
 * (of any member, live or not yet back) has not acknowledged.
 */
export class MemoryTopic {
  readonly partitions: PartitionLog[];
  readonly groups = new Map<string, MemoryGroup>();
  readonly name: string;
  readonly retention: RetentionLimits;
  private readonly checkEvery: number;
  /** Appends per partition until the next retention check. */
  private readonly untilCheck: number[];

  constructor(name: string, partitionCount: number, retention: RetentionLimits = false) {
    this.name = name;
    this.retention = retention;
    this.partitions = Array.from({ length: partitionCount }, () => new PartitionLog());
    this.checkEvery = checkInterval(retention);
    this.untilCheck = this.partitions.map(() => this.checkEvery);
  }

  /** Appends a record; `wake` false leaves telling the groups to the caller (`wake`), once for a batch. */
  append(partition: number, key: string, value: Envelope | Uint8Array, timestamp: number, bytes: number, wake = true): number {
    const offset = this.partitions[partition]!.append(key, value, timestamp, bytes);
    if (this.retention !== false && (this.untilCheck[partition]! -= 1) <= 0) {
      this.untilCheck[partition] = this.checkEvery;
      this.trim(partition, timestamp);
    }
    if (wake) this.wake(partition);
    return offset;
  }

  /** Tells every group that records wait on `partition`. */
  wake(partition: number): void {
    for (const group of this.groups.values()) group.wake(partition);
  }

  /** Applies the retention limits to `partition` now; returns how many records were dropped. */
  trim(partition: number, now: number): number {
    if (this.retention === false) return 0;
    const log = this.partitions[partition]!;
    let floor = log.end;
    for (const group of this.groups.values()) floor = Math.min(floor, group.committed(partition));
    return trimPartition(log, this.retention, floor, now);
  }

  /** Drops a group's state (an ephemeral group whose subscription closed). */
  dropGroup(name: string): void {
    this.groups.delete(name);
  }

  group(name: string, startFrom: 'earliest' | 'latest'): MemoryGroup {
    let group = this.groups.get(name);
    if (!group) {
      const starts = this.partitions.map((log) => (startFrom === 'latest' ? log.end : log.start));
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

  /** The topic, created with `partitionCount` partitions and `retention` on first use (later calls keep them). */
  topic(name: string, partitionCount: number, retention: RetentionLimits = false): MemoryTopic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = new MemoryTopic(name, partitionCount, retention);
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
