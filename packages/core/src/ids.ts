import { randomFillSync } from 'node:crypto';

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX3 = Array.from({ length: 4_096 }, (_, i) => i.toString(16).padStart(3, '0'));

/** Milliseconds of the current prefix; a sequence overflow moves it ahead of the clock. */
let prefixMs = -1;
let sequence = 0;
let prefix = '';
let suffix = '';
/** Random bytes drawn 8 at a time: one `randomFillSync` (a few microseconds) per 64 milliseconds with ids. */
const pool = new Uint8Array(512);
let drawn = pool.length;

/**
 * A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit sequence
 * (method 1: a counter in `rand_a`, starting at 0 each millisecond), then 62 random bits
 * drawn once per millisecond. Unique across processes by those random bits, ordered within
 * one process, and sortable by creation time everywhere — which a log's ids should be.
 * Over 4,096 ids in one millisecond the timestamp runs ahead of the clock until it catches
 * up, as the RFC allows. `crypto.randomUUID()` formats 122 fresh random bits per id: this
 * formats one 3-digit counter per id and the rest once per millisecond.
 */
export function newId(): string {
  const now = Date.now();
  if (now > prefixMs) {
    prefixMs = now;
    sequence = 0;
    renew();
  } else if (++sequence === 4_096) {
    prefixMs += 1;
    sequence = 0;
    renew();
  }
  return prefix + HEX3[sequence]! + suffix;
}

function renew(): void {
  if (drawn === pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  const at = drawn;
  drawn += 8;
  const time = prefixMs.toString(16).padStart(12, '0');
  prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
  let tail = '';
  for (let i = at + 2; i < at + 8; i += 1) tail += HEX2[pool[i]!]!;
  // The variant (0b10) in the top bits of the fourth group.
  suffix = `-${HEX2[(pool[at]! & 0x3f) | 0x80]!}${HEX2[pool[at + 1]!]!}-${tail}`;
}
