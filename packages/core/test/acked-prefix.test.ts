import { describe, expect, it } from 'vitest';
import { AckedPrefix } from '../src/consumer/acked-prefix.js';

describe('AckedPrefix', () => {
  it('commits only the contiguous settled prefix', () => {
    const prefix = new AckedPrefix(10n);
    for (const offset of [10n, 11n, 12n, 13n]) prefix.track(offset);
    expect(prefix.settle(12n)).toBeUndefined(); // out of order: 10 and 11 still open
    expect(prefix.commitPosition).toBe(10n);
    expect(prefix.settle(10n)).toBe(11n);
    expect(prefix.settle(11n)).toBe(13n); // 12 was already settled
    expect(prefix.outstanding).toBe(1);
    expect(prefix.settle(13n)).toBe(14n);
  });

  it('follows offsets with gaps (control records, compaction)', () => {
    const prefix = new AckedPrefix(0n);
    for (const offset of [0n, 2n, 5n]) prefix.track(offset);
    prefix.settle(5n);
    expect(prefix.settle(2n)).toBeUndefined();
    expect(prefix.settle(0n)).toBe(6n);
  });

  it('stays correct over many offsets settled in random order', () => {
    const prefix = new AckedPrefix(0n);
    const offsets = Array.from({ length: 5000 }, (_, i) => BigInt(i));
    for (const o of offsets) prefix.track(o);
    const shuffled = [...offsets].sort(() => Math.random() - 0.5);
    let lowestOpen = 0n;
    const open = new Set(offsets);
    for (const o of shuffled) {
      prefix.settle(o);
      open.delete(o);
      while (!open.has(lowestOpen) && lowestOpen < 5000n) lowestOpen += 1n;
      expect(prefix.commitPosition).toBe(lowestOpen);
    }
  });
});

describe('AckedPrefix against stray input', () => {
  it('ignores settles of offsets never tracked or already committed, and re-tracked offsets', () => {
    const prefix = new AckedPrefix(5n);
    expect(prefix.settle(7n)).toBeUndefined(); // not handed out yet
    prefix.track(5n);
    prefix.track(6n);
    prefix.track(7n);
    prefix.track(6n); // re-fetched after a seek: already tracked
    expect(prefix.settle(3n)).toBeUndefined(); // before the start
    expect(prefix.settle(5n)).toBe(6n);
    expect(prefix.settle(5n)).toBeUndefined(); // twice
    expect(prefix.commitPosition).toBe(6n);
    expect(prefix.settle(6n)).toBe(7n); // 7 never settled: the prefix stops before it
    expect(prefix.settle(7n)).toBe(8n);
  });
});
