/** The records of one key held by a dispatcher, run one at a time in order. */
export interface KeyLane<R> {
  /** The key. */
  readonly id: string;
  readonly partition: number;
  readonly records: R[];
  running: boolean;
  /** Called when the lane's current run ends; only while someone waits for that. */
  waiters?: (() => void)[] | undefined;
}

/**
 * A dispatcher's lanes, by partition then key: no composite string to build and hash per
 * record. An idle lane stays in its map for a while — keys usually come back, and deleting and
 * re-adding map entries per message costs more than the lane — and idle lanes are swept in bulk.
 */
export class KeyLanes<R> {
  private readonly byPartition = new Map<number, Map<string, KeyLane<R>>>();
  /** Lanes gone idle since the last sweep. */
  private idle = 0;

  /**
   * Appends `record` to the lane of `key` in `partition` and returns the lane. A new lane is
   * created holding the record: an array literal of one, where an empty array's first push
   * would reserve 17 slots (about 130 bytes held per key while its record runs).
   */
  push(partition: number, key: string, record: R): KeyLane<R> {
    let byKey = this.byPartition.get(partition);
    if (!byKey) {
      byKey = new Map();
      this.byPartition.set(partition, byKey);
    }
    let lane = byKey.get(key);
    if (lane) lane.records.push(record);
    else {
      lane = { id: key, partition, records: [record], running: false, waiters: undefined };
      byKey.set(key, lane);
    }
    return lane;
  }

  *all(): Iterable<KeyLane<R>> {
    for (const byKey of this.byPartition.values()) yield* byKey.values();
  }

  /**
   * Forgets every lane of `partition` (it was lost): a stale handler still running in one of
   * them must not hold back the records of the same key once the partition is ours again.
   */
  detach(partition: number): void {
    this.byPartition.delete(partition);
  }

  /** A lane went idle; every 1,024 of them, idle lanes are dropped. */
  forget(_lane: KeyLane<R>): void {
    this.idle += 1;
    if (this.idle < 1_024) return;
    this.idle = 0;
    for (const byKey of this.byPartition.values()) {
      for (const [key, lane] of byKey) if (!lane.running && lane.records.length === 0) byKey.delete(key);
    }
  }
}
