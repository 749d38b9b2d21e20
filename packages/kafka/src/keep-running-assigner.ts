import kafkajs, { type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** The group protocol name of the assigner below. */
export const KEEP_RUNNING_ASSIGNER = 'a2a-bus-keep-running';

/** What a member tells the group leader in its JoinGroup, per topic. */
export interface MemberClaims {
  /**
   * The member id it held those partitions under. A member that joins under another id was
   * evicted meanwhile (its session expired), and others may run those keys now: its busy
   * claims are ignored.
   */
  readonly member?: string;
  /** Partitions it owned in the generation that ended: it keeps them where the balance allows. */
  readonly owned: readonly number[];
  /** Partitions with handlers running on it now: assigned back to it, whatever the balance. */
  readonly busy: readonly number[];
}

/**
 * A partition assigner that lets a member rejoin a rebalance at once, with its handlers
 * still running, instead of holding its JoinGroup until they finished.
 *
 * Kafka's eager protocol hands out no partition before every member rejoined, so with
 * kafkajs's round-robin assigner a member must finish its running handlers before it
 * rejoins — otherwise the key might start on the next owner meanwhile. A dead member's work
 * then waits for the survivors' longest handler (the fault harness saw 20 s: a step awaiting
 * a long sub-step). Here each member reports the partitions it is busy on, and the leader
 * assigns those back to it: what runs keeps running on the member that holds its key, and the
 * group moves on as soon as the dead member's session expired. Partitions nobody is busy on
 * stay with their owner up to an even share, and the rest go to the least loaded members.
 * Busy claims count only when made under the member id the member joins with (an evicted
 * member rejoins under a new one, and its keys may run elsewhere already).
 *
 * `claims` is called when kafkajs builds this member's JoinGroup (see
 * `KafkaSubscription.prepareJoin`). A group that also has members without this assigner (an
 * older release, during a rolling upgrade) agrees on round-robin instead, which ignores the
 * claims: a member given its busy partition to someone else then stops those handlers
 * (signal aborted, acks refused), as when a rebalance budget expires.
 */
export function keepRunningAssigner(claims: (topic: string) => MemberClaims): PartitionAssigner {
  return ({ cluster }) => ({
    name: KEEP_RUNNING_ASSIGNER,
    version: 1,
    async assign({ members, topics }) {
      const assignment = new Map<string, Record<string, number[]>>(members.map(({ memberId }) => [memberId, {}]));
      const decoded = members.map(({ memberId, memberMetadata }) => ({ memberId, claims: decodeClaims(memberMetadata) }));
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((metadata) => metadata.partitionId);
        const owners = assignPartitions(
          partitions,
          decoded.map(({ memberId, claims }) => {
            const claim = claims[topic] ?? { owned: [], busy: [] };
            return { id: memberId, owned: claim.owned, busy: claim.member === memberId ? claim.busy : [] };
          }),
        );
        for (const [memberId, assigned] of owners) assignment.get(memberId)![topic] = assigned;
      }
      return [...assignment].map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: topicPartitions, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      const userData: Record<string, MemberClaims> = {};
      for (const topic of topics) userData[topic] = claims(topic);
      return {
        name: KEEP_RUNNING_ASSIGNER,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(userData)) }),
      };
    },
  });
}

/** A member's claims per topic; none when its metadata cannot be read (it then only gets a share). */
function decodeClaims(metadata: Buffer): Record<string, MemberClaims> {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(metadata) ?? {};
    if (!userData || userData.length === 0) return {};
    const parsed = JSON.parse(userData.toString('utf8')) as Record<string, Partial<MemberClaims>>;
    const claims: Record<string, MemberClaims> = {};
    for (const [topic, claim] of Object.entries(parsed))
      claims[topic] = { ...(typeof claim.member === 'string' ? { member: claim.member } : {}), owned: integers(claim.owned), busy: integers(claim.busy) };
    return claims;
  } catch {
    return {};
  }
}

function integers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((item): item is number => Number.isInteger(item)) : [];
}

/**
 * Which member gets which partition: busy partitions go back to the member running them
 * (the first by member id, should two claim one); then each member keeps what it owned up
 * to `floor(partitions / members)`; every partition left goes to a member with the fewest,
 * its previous owner among them if it is. Every member gets an entry, possibly empty.
 */
export function assignPartitions(partitions: readonly number[], members: ReadonlyArray<{ readonly id: string } & MemberClaims>): Map<string, number[]> {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const owners = new Map<string, number[]>(sorted.map(({ id }) => [id, []]));
  if (sorted.length === 0) return owners;
  const open = new Set([...partitions].sort((a, b) => a - b));
  const take = (id: string, partition: number): void => {
    open.delete(partition);
    owners.get(id)!.push(partition);
  };
  for (const { id, busy } of sorted) for (const partition of busy) if (open.has(partition)) take(id, partition);
  const even = Math.floor(partitions.length / sorted.length);
  for (const { id, owned } of sorted) for (const partition of owned) if (open.has(partition) && owners.get(id)!.length < even) take(id, partition);
  const previousOwner = new Map<number, string>();
  for (const { id, owned } of sorted) for (const partition of owned) if (!previousOwner.has(partition)) previousOwner.set(partition, id);
  for (const partition of [...open]) {
    const fewest = Math.min(...[...owners.values()].map((held) => held.length));
    const candidates = sorted.filter(({ id }) => owners.get(id)!.length === fewest).map(({ id }) => id);
    const previous = previousOwner.get(partition);
    take(previous !== undefined && candidates.includes(previous) ? previous : candidates[0]!, partition);
  }
  for (const held of owners.values()) held.sort((a, b) => a - b);
  return owners;
}
