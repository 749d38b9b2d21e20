import type { Envelope } from '@a2a-bus/core';

/** One record of a partition. Offsets are never reused: trimming moves `start` up. */
export interface StoredRecord {
  readonly offset: number;
  readonly key: string;
  /** Published envelopes are kept decoded; `publishRaw` bytes are kept as bytes. */
  readonly value: Envelope | Uint8Array;
  readonly timestamp: number;
  /** Encoded size, measured once at publish (charged against a subscription's maxInFlightBytes). */
  readonly bytes: number;
}

/**
 * The records of one partition from `start` (oldest kept) to `end` (next offset). Dropping
 * the oldest records is O(1) amortized: a head index moves, the array is compacted once
 * at least half of it is dropped.
 */
export class PartitionLog {
  private records: (StoredRecord | undefined)[] = [];
  private head = 0;
  private first = 0;
  /** Encoded bytes of the records kept. */
  bytes = 0;

  /** Offset of the oldest record kept (= `end` when empty). */
  get start(): number {
    return this.first;
  }

  /** Offset the next record gets. */
  get end(): number {
    return this.first + this.records.length - this.head;
  }

  get length(): number {
    return this.records.length - this.head;
  }

  /** The record at `offset`, or undefined when it was trimmed or is not written yet. */
  at(offset: number): StoredRecord | undefined {
    if (offset < this.first) return undefined;
    return this.records[this.head + offset - this.first];
  }

  oldest(): StoredRecord | undefined {
    return this.records[this.head];
  }

  append(key: string, value: Envelope | Uint8Array, timestamp: number, bytes: number): number {
    const offset = this.end;
    this.records.push({ offset, key, value, timestamp, bytes });
    this.bytes += bytes;
    return offset;
  }

  /** Drops the oldest record. */
  dropOldest(): void {
    const record = this.records[this.head];
    if (!record) return;
    this.records[this.head] = undefined;
    this.head += 1;
    this.first += 1;
    this.bytes -= record.bytes;
    if (this.head >= 1_024 && this.head * 2 >= this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  /** First offset whose record is stamped at or after `timestamp` (`end` when none). */
  offsetAtOrAfter(timestamp: number): number {
    // Linear: transports sharing a broker may run on different clocks, so stamps need not be sorted.
    for (let offset = this.first; offset < this.end; offset += 1) {
      if (this.at(offset)!.timestamp >= timestamp) return offset;
    }
    return this.end;
  }
}
