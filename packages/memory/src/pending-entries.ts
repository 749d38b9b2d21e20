/** A delivered, not yet settled record of a group (Redis calls it the pending entries list). */
export interface PendingEntry {
  deliveries: number;
  /** Member holding it now; undefined once that member let go (revoked, crashed). */
  holder: string | undefined;
}

/**
 * One partition's pending entries, by offset. Entries are added at the group's cursor, so
 * offsets only grow, and they are settled in about the order they were added: a window from
 * the oldest unsettled offset to the newest, kept in an array, is all it takes. A `Map`
 * churned once per message (one insert, one delete) rehashed its table every few operations,
 * and that was a tenth of a dispatch's CPU. The window's head moves past settled offsets;
 * the array is compacted once at least half of it lies behind the head. An entry held for
 * long (a slow handler) keeps the window open behind it, one empty slot per offset settled
 * since: far less than the log itself keeps, since retention never drops a record past a
 * group's oldest unsettled one.
 */
export class PendingEntries {
  private slots: (PendingEntry | undefined)[] = [];
  /** Index in `slots` of offset `base`. */
  private head = 0;
  /** Offset of `slots[head]`. */
  private base = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(offset: number): PendingEntry | undefined {
    if (offset < this.base) return undefined;
    return this.slots[this.head + offset - this.base];
  }

  /** Adds the entry of `offset`, which must lie past every offset added before. */
  add(offset: number, entry: PendingEntry): void {
    if (this.count === 0) {
      this.slots.length = 0;
      this.head = 0;
      this.base = offset;
    }
    const end = this.base + this.slots.length - this.head;
    if (offset < end) throw new Error(`pending entry ${offset} added out of order (next is ${end})`);
    for (let gap = offset - end; gap > 0; gap -= 1) this.slots.push(undefined);
    this.slots.push(entry);
    this.count += 1;
  }

  delete(offset: number): boolean {
    const index = this.head + offset - this.base;
    if (offset < this.base || this.slots[index] === undefined) return false;
    this.slots[index] = undefined;
    this.count -= 1;
    if (index === this.head) this.advance();
    return true;
  }

  /** The oldest pending offset, or undefined when none is pending. */
  lowest(): number | undefined {
    return this.count === 0 ? undefined : this.base;
  }

  /** Entries in offset order. */
  *entries(): IterableIterator<[number, PendingEntry]> {
    for (let i = this.head; i < this.slots.length; i += 1) {
      const entry = this.slots[i];
      if (entry !== undefined) yield [this.base + i - this.head, entry];
    }
  }

  *values(): IterableIterator<PendingEntry> {
    for (let i = this.head; i < this.slots.length; i += 1) {
      const entry = this.slots[i];
      if (entry !== undefined) yield entry;
    }
  }

  /** Moves the head past settled offsets. */
  private advance(): void {
    while (this.head < this.slots.length && this.slots[this.head] === undefined) {
      this.head += 1;
      this.base += 1;
    }
    if (this.head === this.slots.length) {
      this.slots.length = 0;
      this.head = 0;
    } else if (this.head >= 1_024 && this.head * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
  }
}
