import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSettledAhead, encodeSettledAhead } from '../src/settled-ahead.js';

describe('offsets settled ahead of the commit, in commit metadata', () => {
  it('round-trips any ascending set above the position', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { maxLength: 200 }), (position, gaps) => {
        const offsets = [...new Set(gaps)].sort((a, b) => a - b).map((g) => position + BigInt(g));
        const text = encodeSettledAhead(position, offsets);
        expect(decodeSettledAhead(position, text)).toEqual(new Set(offsets));
      }),
    );
  });

  it('writes gaps in base 36 after a versioned prefix, and nothing when there is nothing ahead', () => {
    expect(encodeSettledAhead(100n, [102n, 103n, 113n])).toBe('a2a-bus/1:2,1,a');
    expect(encodeSettledAhead(100n, [])).toBeNull();
    expect(encodeSettledAhead(100n, [99n])).toBeNull(); // below the position: covered by the commit already
  });

  it('stays under the limit Kafka puts on metadata, keeping the lowest offsets', () => {
    const offsets = Array.from({ length: 5_000 }, (_, i) => 1_000_000n + BigInt(i * 1_000));
    const text = encodeSettledAhead(0n, offsets, 400)!;
    expect(text.length).toBeLessThanOrEqual(400);
    const decoded = [...decodeSettledAhead(0n, text)];
    expect(decoded.length).toBeGreaterThan(10);
    expect(decoded).toEqual(offsets.slice(0, decoded.length));
  });

  it('trusts nothing that is not its own format', () => {
    expect(decodeSettledAhead(5n, null).size).toBe(0);
    expect(decodeSettledAhead(5n, '')).toEqual(new Set());
    expect(decodeSettledAhead(5n, 'some other client wrote this').size).toBe(0);
    expect(decodeSettledAhead(5n, 'a2a-bus/1:2,-1,3').size).toBe(0);
    expect(decodeSettledAhead(5n, 'a2a-bus/1:2,,3').size).toBe(0);
    expect(decodeSettledAhead(5n, 'a2a-bus/2:1')).toEqual(new Set());
  });
});
