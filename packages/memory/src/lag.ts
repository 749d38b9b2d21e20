import type { ConsumerLag, LagQuery } from '@a2a-bus/core';
import type { MemoryBroker } from './log.js';

/**
 * Lag of every group of the broker's topics (or the one asked for). The acknowledged
 * position of a partition is its oldest pending entry, or the cursor when nothing is pending.
 */
export function memoryLag(broker: MemoryBroker, query: LagQuery, now: number): ConsumerLag[] {
  const found: ConsumerLag[] = [];
  for (const topic of broker.allTopics()) {
    if (query.topic !== undefined && topic.name !== query.topic) continue;
    for (const [group, state] of topic.groups) {
      if (query.group !== undefined && group !== query.group) continue;
      topic.partitions.forEach((records, partition) => {
        const pending = state.pending[partition]!;
        const cursor = state.cursors[partition]!;
        const committed = state.committed(partition);
        let redelivered = 0;
        for (const entry of pending.values()) if (entry.deliveries > 1) redelivered += 1;
        const oldest = records.at(committed);
        found.push({
          topic: topic.name,
          group,
          partition,
          committed: String(committed),
          end: String(records.end),
          lag: records.end - cursor + pending.size,
          pending: pending.size,
          redelivered,
          ...(oldest ? { oldestUnackedAgeMs: Math.max(0, now - oldest.timestamp) } : {}),
        });
      });
    }
  }
  return found;
}
