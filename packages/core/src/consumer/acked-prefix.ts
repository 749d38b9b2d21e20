/**
 * Tracks the offsets of one partition that were handed out and which of them are settled,
 * and reports the end of the contiguous settled prefix: the only position that may be
 * committed on a log whose commit covers everything before it (Kafka). An ack that arrives
 * out of order never moves the commit past a message still unsettled. Offsets need not be
 * contiguous (control records, compaction): only tracked offsets count.
 */
export class AckedPrefix {
  private readonly tracked: bigint[] = [];
  private head = 0;
  private readonly settled = new Set<bigint>();
  private position: bigint;

  /** `position`: the committed position the partition starts from. */
  constructor(position: bigint) {
    this.position = position;
  }

  /**
   * Records that `offset` was handed to the consumer; call in offset order. An offset at or
   * below one already tracked (a re-fetch after a seek) is ignored: it is tracked already.
   */
  track(offset: bigint): void {
    const last = this.tracked.length > this.head ? this.tracked[this.tracked.length - 1]! : this.position - 1n;
    if (offset <= last) return;
    this.tracked.push(offset);
  }

  /**
   * Marks `offset` settled. Returns the new commit position when it moved, else undefined.
   * Offsets never tracked, or already inside the prefix, are ignored, so a stray settle can
   * never make a later message count as handled.
   */
  settle(offset: bigint): bigint | undefined {
    if (offset < this.position || !this.isTracked(offset)) return undefined;
    this.settled.add(offset);
    let moved = false;
    while (this.head < this.tracked.length && this.settled.delete(this.tracked[this.head]!)) {
      this.position = this.tracked[this.head]! + 1n;
      this.head += 1;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.tracked.length) {
      this.tracked.splice(0, this.head);
      this.head = 0;
    }
    return moved ? this.position : undefined;
  }

  /** Whether `offset` is one of the open tracked offsets (binary search: they are ascending). */
  private isTracked(offset: bigint): boolean {
    let low = this.head;
    let high = this.tracked.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const at = this.tracked[mid]!;
      if (at === offset) return true;
      if (at < offset) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }

  /** The position to commit: the offset after the last message of the settled prefix. */
  get commitPosition(): bigint {
    return this.position;
  }

  /**
   * Offsets settled beyond the prefix, ascending: handled, but not covered by the commit
   * position because a message before them is still unsettled. A log that can store them
   * beside the commit (Kafka's commit metadata) spares them a second run after a hand-over.
   */
  settledAhead(): bigint[] {
    return [...this.settled].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Messages handed out and not yet inside the settled prefix. */
  get outstanding(): number {
    return this.tracked.length - this.head;
  }
}
