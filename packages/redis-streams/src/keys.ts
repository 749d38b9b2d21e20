/**
 * Where a topic lives in Redis. Every key of a topic shares the hash tag `{<topic>}`, so a
 * topic's streams, lease keys and metadata stay in one slot should the keys ever move to a
 * cluster.
 */
export class TopicKeys {
  readonly topic: string;
  private readonly base: string;
  private readonly streams: string[] = [];

  constructor(prefix: string, topic: string) {
    this.topic = topic;
    this.base = `${prefix}{${topic}}`;
  }

  /** The stream of one partition. */
  stream(partition: number): string {
    return (this.streams[partition] ??= `${this.base}:${partition}`);
  }

  /** The topic's partition count, fixed by the first client that used the topic. */
  get partitionCount(): string {
    return `${this.base}:partitions`;
  }

  /** Sorted set of a group's live members, scored by when their heartbeat expires. */
  members(group: string): string {
    return `${this.base}:group:${group}:members`;
  }

  /** Lease on one partition for a group; the value is the owning member. */
  lease(group: string, partition: number): string {
    return `${this.base}:group:${group}:lease:${partition}`;
  }

  /** SCAN pattern matching every key of the topic. */
  get everyKeyPattern(): string {
    return `${this.base.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  }

  /** Pub/sub channel on which members of a group ask each other to rebalance now. */
  rebalanceChannel(group: string): string {
    return `${this.base}:group:${group}:rebalance`;
  }
}

/** Stream ids are `<ms>-<seq>`; compares two of them numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/** The append time of an entry, from its id. */
export function streamIdTime(id: string): number {
  return Number.parseInt(id, 10);
}
