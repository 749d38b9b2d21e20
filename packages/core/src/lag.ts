/** Which groups and topics `Transport.inspectLag` reports on. Both default to all it can see. */
export interface LagQuery {
  /** One topic (as the application names it). */
  readonly topic?: string;
  /** One group (as passed to `subscribe`). */
  readonly group?: string;
}

/**
 * Where one consumer group stands on one partition of a topic. Positions are the
 * backend's own (Kafka offset, Redis stream id, JetStream sequence), as strings like
 * `PublishReceipt.offset`.
 */
export interface ConsumerLag {
  readonly topic: string;
  readonly group: string;
  readonly partition: number;
  /**
   * The group's acknowledged position: Kafka's committed offset (next to read), Redis's
   * last-delivered-id, JetStream's ack floor sequence, memory's acknowledged prefix.
   * `null` when the group has none yet.
   */
  readonly committed: string | null;
  /** The partition's end: the next offset / last id / last sequence of its records. */
  readonly end: string | null;
  /** Records the group has not acknowledged yet: never delivered plus delivered-but-unacked. */
  readonly lag: number;
  /** Delivered and not yet acknowledged (where the backend tracks it). */
  readonly pending?: number;
  /** Of those, delivered more than once (where the backend tracks it). */
  readonly redelivered?: number;
  /** Age of the oldest record not yet acknowledged (where the backend can tell). */
  readonly oldestUnackedAgeMs?: number;
}

/** Total lag over entries (e.g. a group's partitions). */
export function totalLag(entries: readonly ConsumerLag[]): number {
  return entries.reduce((sum, entry) => sum + entry.lag, 0);
}
