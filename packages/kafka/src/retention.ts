import type { Admin } from 'kafkajs';

/** Groups whose committed offsets are fetched at once in a round. */
const GROUP_CONCURRENCY = 8;

/**
 * One retention round (see `RetentionTrimmer`): per partition, the cut is the first offset
 * younger than the topic's age limit (`fetchTopicOffsetsByTimestamp`, broker append time),
 * lowered to the lowest offset any group has committed on that partition; `DeleteRecords`
 * then moves the log start offset up to it. A group that committed on some partitions of a
 * topic but not on one holds that partition whole. A group counts from its first commit on a
 * topic: before that it starts where the log starts, whatever that is then. Returns the number
 * of records deleted.
 */
export async function trimKafkaTopics(admin: Admin, targets: ReadonlyMap<string, number>, now: number): Promise<number> {
  const floors = await committedFloors(admin, [...targets.keys()]);
  let deleted = 0n;
  for (const [topic, maxAgeMs] of targets) {
    const [watermarks, young] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchTopicOffsetsByTimestamp(topic, now - maxAgeMs)]);
    const cuts: { partition: number; offset: string }[] = [];
    for (const { partition, low } of watermarks) {
      // kafkajs answers the high watermark for a partition with nothing that young.
      let cut = BigInt(young.find((entry) => entry.partition === partition)?.offset ?? low);
      const floor = floors.get(topic)?.get(partition);
      if (floor !== undefined && floor < cut) cut = floor;
      if (cut <= BigInt(low)) continue;
      cuts.push({ partition, offset: String(cut) });
      deleted += cut - BigInt(low);
    }
    if (cuts.length > 0) await admin.deleteTopicRecords({ topic, partitions: cuts });
  }
  return Number(deleted);
}

/** Per topic and partition, the lowest offset a consumer group has committed (0 where it reads a topic but not yet that partition). */
async function committedFloors(admin: Admin, topics: string[]): Promise<Map<string, Map<number, bigint>>> {
  const floors = new Map<string, Map<number, bigint>>();
  const { groups } = await admin.listGroups();
  for (let start = 0; start < groups.length; start += GROUP_CONCURRENCY) {
    const batch = groups.slice(start, start + GROUP_CONCURRENCY);
    const answers = await Promise.all(batch.map(({ groupId }) => admin.fetchOffsets({ groupId, topics })));
    for (const answer of answers) {
      for (const { topic, partitions } of answer) {
        if (partitions.every(({ offset }) => offset === '-1')) continue; // this group does not read the topic
        let byPartition = floors.get(topic);
        if (!byPartition) floors.set(topic, (byPartition = new Map()));
        for (const { partition, offset } of partitions) {
          const needed = offset === '-1' ? 0n : BigInt(offset);
          const current = byPartition.get(partition);
          if (current === undefined || needed < current) byPartition.set(partition, needed);
        }
      }
    }
  }
  return floors;
}
