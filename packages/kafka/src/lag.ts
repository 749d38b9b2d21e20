import type { ConsumerLag, LagQuery } from '@a2a-bus/core';
import type { Admin } from 'kafkajs';

type GroupIdOf = (group: string, topic: string) => string;

/**
 * Committed offsets (OffsetFetch) against end offsets (ListOffsets) per group and
 * partition. Kafka tracks no per-record acknowledgement, so pending / redelivered are
 * unknown; lag is everything after the committed offset, in flight or not.
 */
export async function kafkaLag(admin: Admin, groupIdOf: GroupIdOf, query: LagQuery): Promise<ConsumerLag[]> {
  const ends = new Map<string, Promise<Array<{ partition: number; high: string; low: string }>>>();
  const endsOf = (topic: string) => {
    let found = ends.get(topic);
    if (!found) ends.set(topic, (found = admin.fetchTopicOffsets(topic)));
    return found;
  };
  const groups = await candidateGroups(admin, groupIdOf, query);
  const result: ConsumerLag[] = [];
  for (const groupId of groups) {
    let committed: Awaited<ReturnType<Admin['fetchOffsets']>>;
    try {
      committed = await admin.fetchOffsets({ groupId, ...(query.topic ? { topics: [query.topic] } : {}) });
    } catch (error) {
      // A group listed a moment ago may be gone (replays delete theirs); a named one may not.
      if (groups.length > 1 && !(await admin.listGroups()).groups.some((g) => g.groupId === groupId)) continue;
      throw error;
    }
    for (const { topic, partitions } of committed) {
      const group = groupOf(groupId, topic);
      if (query.group !== undefined && group !== query.group) continue;
      // Asked about one topic: a group that never committed on it is not its consumer.
      if (query.topic && query.group === undefined && partitions.every((p) => p.offset === '-1')) continue;
      const byPartition = new Map(partitions.map((p) => [p.partition, p.offset]));
      let topicEnds: Array<{ partition: number; high: string; low: string }>;
      try {
        topicEnds = await endsOf(topic);
      } catch (error) {
        // Deleted since the group committed on it (other clients come and go): nothing to report.
        if (!(await admin.listTopics()).includes(topic)) continue;
        throw error;
      }
      for (const end of topicEnds) {
        const offset = byPartition.get(end.partition);
        const at = offset === undefined || offset === '-1' ? null : offset;
        result.push({
          topic,
          group,
          partition: end.partition,
          committed: at,
          end: end.high,
          lag: Number(BigInt(end.high) - BigInt(at ?? end.low)),
        });
      }
    }
  }
  return result.sort((a, b) => a.topic.localeCompare(b.topic) || a.group.localeCompare(b.group) || a.partition - b.partition);
}

/** Kafka group ids worth asking: the one a (group, topic) maps to, else every group but replay's throwaways. */
async function candidateGroups(admin: Admin, groupIdOf: GroupIdOf, query: LagQuery): Promise<string[]> {
  if (query.group !== undefined && query.topic !== undefined) return [groupIdOf(query.group, query.topic)];
  const { groups } = await admin.listGroups();
  return groups.map((g) => g.groupId).filter((id) => !id.startsWith('a2a-bus-replay-'));
}

/** The a2a-bus group name back from the default `<group>.<topic>` Kafka group id (else the id itself). */
function groupOf(groupId: string, topic: string): string {
  return groupId.endsWith(`.${topic}`) ? groupId.slice(0, -(topic.length + 1)) : groupId;
}
