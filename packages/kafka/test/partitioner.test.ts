import { partitionForKey } from '@a2a-bus/core/adapter';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';

// a2a-bus produces with an explicit partition from core's partitionForKey; kafkajs's default
// partitioner (Java-compatible murmur2 since 2.0) must put every key in the same place, or
// other Kafka clients would disagree with us about where a workflow lives.
describe('[kafka] key → partition', () => {
  it("agrees with kafkajs's DefaultPartitioner for many keys and partition counts", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const metadata = (count: number) =>
      Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    let compared = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const key = i % 4 === 0 ? `ctx-${i}` : i % 4 === 1 ? crypto.randomUUID() : i % 4 === 2 ? `wf/é✓/${i}/${'x'.repeat(i % 37)}` : String(i);
      for (const count of [1, 2, 3, 4, 7, 8, 12, 16, 64]) {
        const theirs = partitioner({ topic: 't', partitionMetadata: metadata(count), message: { key, value: null } });
        expect(theirs, `key ${key}, ${count} partitions`).toBe(partitionForKey(key, count));
        compared += 1;
      }
    }
    expect(compared).toBe(180_000);
  });
});
