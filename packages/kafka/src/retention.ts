import type { Admin } from 'kafkajs';

/** Groups whose committed offsets are fetched at once in a round. */
const GROUP_CONCURRENCY = 8;
/** A group seen reading none of the trimmed topics is asked again within this many rounds. */
export const RECHECK_ROUNDS = 10;

type Committed = Map<string, Map<number, bigint>>;

interface GroupState {
  /** Per trimmed topic it has committed on, per partition, the offset it needs (0: none yet). */
  committed: Committed;
  /** The round its offsets were last fetched in. */
  checkedIn: number;
}

/**
 * Retention rounds for Kafka (see `RetentionTrimmer`): per partition, the cut is the first
 * offset younger than the topic's age limit (`fetchTopicOffsetsByTimestamp`, broker append
 * time), lowered to the lowest offset any group has committed on that partition;
 * `DeleteRecords` then moves the log start offset up to it. A group that committed on some
 * partitions of a topic but not on one holds that partition whole. A group counts from its
 * first commit on a topic: before that it starts where the log starts, whatever that is then.
 *
 * A broker holds many groups and a round must stay cheap (it runs every `intervalMs`, and a
 * round that runs late lets the log grow): each round lists the groups (one request) and asks
 * for the committed offsets of the groups that read a trimmed topic, of groups listed for the
 * first time, and of this process's own groups — but of the others (groups seen reading none
 * of these topics) only a `1 / RECHECK_ROUNDS` share, the longest unasked first. So a group
 * made elsewhere that starts reading a trimmed topic after it was first listed counts within
 * `RECHECK_ROUNDS` rounds of its first commit.
 */
export class KafkaRetentionRounds {
  private readonly groups = new Map<string, GroupState>();
  private topicsKey = '';
  private round = 0;

  private readonly ownGroups: () => Iterable<string>;

  /** `ownGroups()`: the groups this process consumes with (always asked). */
  constructor(ownGroups: () => Iterable<string> = () => []) {
    this.ownGroups = ownGroups;
  }

  /** One round; returns the number of records deleted. */
  async trim(admin: Admin, targets: ReadonlyMap<string, number>, now: number): Promise<number> {
    const floors = await this.committedFloors(admin, [...targets.keys()]);
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
  private async committedFloors(admin: Admin, topics: string[]): Promise<Committed> {
    this.round += 1;
    const key = [...topics].sort().join('\n');
    if (key !== this.topicsKey) {
      // What a group was seen reading says nothing about topics added since.
      this.groups.clear();
      this.topicsKey = key;
    }
    const listed = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    for (const id of this.groups.keys()) if (!listed.has(id)) this.groups.delete(id);
    const own = new Set(this.ownGroups());
    const due: string[] = [];
    const idle: { id: string; checkedIn: number }[] = [];
    for (const id of listed) {
      const state = this.groups.get(id);
      if (!state || state.committed.size > 0 || own.has(id)) due.push(id);
      else idle.push({ id, checkedIn: state.checkedIn });
    }
    idle.sort((a, b) => a.checkedIn - b.checkedIn);
    due.push(...idle.slice(0, Math.ceil(idle.length / RECHECK_ROUNDS)).map((g) => g.id));

    for (let start = 0; start < due.length; start += GROUP_CONCURRENCY) {
      const batch = due.slice(start, start + GROUP_CONCURRENCY);
      const answers = await Promise.all(batch.map((groupId) => admin.fetchOffsets({ groupId, topics })));
      for (const [i, groupId] of batch.entries()) this.groups.set(groupId, { committed: committedOf(answers[i]!), checkedIn: this.round });
    }

    const floors: Committed = new Map();
    for (const { committed } of this.groups.values()) {
      for (const [topic, partitions] of committed) {
        let byPartition = floors.get(topic);
        if (!byPartition) floors.set(topic, (byPartition = new Map()));
        for (const [partition, needed] of partitions) {
          const current = byPartition.get(partition);
          if (current === undefined || needed < current) byPartition.set(partition, needed);
        }
      }
    }
    return floors;
  }
}

/** The topics a group's answer shows commits on, with what it needs per partition. */
function committedOf(answer: Awaited<ReturnType<Admin['fetchOffsets']>>): Committed {
  const committed: Committed = new Map();
  for (const { topic, partitions } of answer) {
    if (partitions.every(({ offset }) => offset === '-1')) continue; // this group does not read the topic
    committed.set(topic, new Map(partitions.map(({ partition, offset }) => [partition, offset === '-1' ? 0n : BigInt(offset)])));
  }
  return committed;
}
