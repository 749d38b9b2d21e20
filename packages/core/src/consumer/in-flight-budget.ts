import type { Envelope } from '../envelope.js';
import type { InboundRecord } from './dispatcher-types.js';

/**
 * What a dispatcher holds, by count and by encoded bytes. There is room while both are under
 * their bound, so one record is always admitted however large (up to `maxEnvelopeBytes`).
 * `capacity` sizes a fetch: the count left, and the bytes left divided by the running average
 * record size (the largest record allowed until one was seen), at least 1.
 */
export class InFlightBudget {
  private held = 0;
  private heldBytes = 0;
  /** Running average of record sizes; 0 until one is seen. */
  private averageBytes = 0;
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private readonly largestRecord: number;

  constructor(maxCount: number, maxBytes: number, largestRecord: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
    this.largestRecord = largestRecord;
  }

  get count(): number {
    return this.held;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  hasRoom(): boolean {
    return this.held < this.maxCount && this.heldBytes < this.maxBytes;
  }

  get capacity(): number {
    const countRoom = this.maxCount - this.held;
    const bytesRoom = this.maxBytes - this.heldBytes;
    if (countRoom <= 0 || bytesRoom <= 0) return 0;
    const perRecord = this.averageBytes || this.largestRecord;
    return Math.min(countRoom, Math.max(1, Math.floor(bytesRoom / perRecord)));
  }

  add(record: InboundRecord): void {
    const bytes = recordBytes(record);
    this.held += 1;
    this.heldBytes += bytes;
    this.averageBytes = this.averageBytes === 0 ? bytes : this.averageBytes + (bytes - this.averageBytes) / 8;
  }

  release(record: InboundRecord): void {
    this.held -= 1;
    this.heldBytes -= recordBytes(record);
  }
}

/** Encoded size: the bytes' length, or what the adapter measured for a record it holds decoded. */
export function recordBytes(record: InboundRecord): number {
  return record.bytes ?? (isEnvelope(record.value) ? 0 : record.value.byteLength);
}

function isEnvelope(value: Uint8Array | Envelope): value is Envelope {
  return !(value instanceof Uint8Array);
}
