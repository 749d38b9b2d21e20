import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../src/partitioner.js';

describe('murmur2 / partitionForKey', () => {
  // The vectors of Kafka's own UtilsTest.testMurmur2: Java clients put these keys where we do.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('murmur2(%j) = %i, as in Kafka', (key, expected) => {
    expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('hashes exactly the UTF-8 bytes of the key: ASCII through the scratch buffer, after a longer key, non-ASCII and long keys encoded', () => {
    const keys = ['a-little-bit-longer-string', '21', 'abc', 'clé-ünïcode', '工作流-7', 'x'.repeat(256), 'y'.repeat(257), 'a', ''];
    for (const key of keys) {
      for (const count of [1, 3, 12, 97]) {
        expect(partitionForKey(key, count), `${key.slice(0, 20)} / ${count}`).toBe((murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % count);
      }
    }
  });

  it('maps a key to the same partition every time, within range', () => {
    for (let i = 0; i < 1000; i += 1) {
      const p = partitionForKey(`workflow-${i}`, 12);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(12);
      expect(partitionForKey(`workflow-${i}`, 12)).toBe(p);
    }
  });

  it('spreads keys over partitions', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i += 1) counts[partitionForKey(`k${i}`, 8)] += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});
