import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { assignPartitions, keepRunningAssigner, type MemberClaims } from '../src/keep-running-assigner.js';

const { AssignerProtocol } = kafkajs;

const eight = [0, 1, 2, 3, 4, 5, 6, 7];
const idle = { owned: [], busy: [] };

function counts(assignment: Map<string, number[]>): number[] {
  return [...assignment.values()].map((held) => held.length);
}

describe('[kafka] keep-running assigner', () => {
  it('gives busy partitions back to the member running them, whatever the balance', () => {
    const assignment = assignPartitions(eight, [
      { id: 'a', owned: [0, 1, 2, 3, 4, 5], busy: [0, 1, 2, 3, 4] },
      { id: 'b', owned: [6, 7], busy: [] },
      { id: 'c', ...idle },
    ]);
    expect(assignment.get('a')).toEqual([0, 1, 2, 3, 4]);
    expect([...assignment.get('b')!, ...assignment.get('c')!].sort()).toEqual([5, 6, 7]);
    expect(assignment.get('c')!.length).toBeGreaterThan(0);
  });

  it('after a member died, the survivors keep what they owned and share its partitions', () => {
    // a, b, c held 3, 3, 2 partitions; b is gone.
    const assignment = assignPartitions(eight, [
      { id: 'a', owned: [0, 3, 6], busy: [3] },
      { id: 'c', owned: [2, 5], busy: [] },
    ]);
    expect(assignment.get('a')).toEqual(expect.arrayContaining([0, 3, 6]));
    expect(assignment.get('c')).toEqual(expect.arrayContaining([2, 5]));
    expect(counts(assignment)).toEqual([4, 4]);
  });

  it('a new member gets an even share from the others, never their busy partitions', () => {
    const assignment = assignPartitions(eight, [
      { id: 'a', owned: [0, 1, 2, 3, 4, 5, 6, 7], busy: [7] },
      { id: 'b', ...idle },
    ]);
    expect(assignment.get('a')).toContain(7);
    expect(counts(assignment)).toEqual([4, 4]);
    expect([...assignment.get('a')!, ...assignment.get('b')!].sort()).toEqual(eight);
  });

  it('two members claiming one busy partition: the first by member id gets it, once', () => {
    const assignment = assignPartitions(
      [0, 1],
      [
        { id: 'b', owned: [0], busy: [0] },
        { id: 'a', owned: [0], busy: [0] },
      ],
    );
    expect(assignment.get('a')).toContain(0);
    expect(assignment.get('b')).toEqual([1]);
  });

  it('claims of partitions the topic does not have are ignored; more members than partitions leaves some empty', () => {
    const assignment = assignPartitions(
      [0, 1],
      [
        { id: 'a', owned: [5], busy: [9] },
        { id: 'b', ...idle },
        { id: 'c', ...idle },
      ],
    );
    expect([...assignment.values()].flat().sort()).toEqual([0, 1]);
    expect(counts(assignment).sort()).toEqual([0, 1, 1]);
  });

  it('through the JoinGroup metadata: a busy claim made under an earlier member id (the member was evicted since) is ignored', async () => {
    const cluster = { findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId })) };
    const assigner = keepRunningAssigner(() => ({ owned: [], busy: [] }))({ cluster } as never);
    const metadata = (claims: MemberClaims): Buffer =>
      AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['t'], userData: Buffer.from(JSON.stringify({ t: claims })) });
    const assigned = async (members: Array<{ memberId: string; claims: MemberClaims }>): Promise<Record<string, number[]>> => {
      const result = await assigner.assign({ members: members.map(({ memberId, claims }) => ({ memberId, memberMetadata: metadata(claims) })), topics: ['t'] });
      return Object.fromEntries(
        result.map(({ memberId, memberAssignment }) => [memberId, AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment.t ?? []]),
      );
    };
    // 'a' rejoined under a new id after an eviction and still claims partition 1; 'b' runs it now.
    expect(
      await assigned([
        { memberId: 'a-2', claims: { member: 'a-1', owned: [1], busy: [1] } },
        { memberId: 'b-1', claims: { member: 'b-1', owned: [0, 1], busy: [1] } },
      ]),
    ).toEqual({ 'a-2': [0], 'b-1': [1] });
    // Under its current id, the same claim holds.
    expect(
      await assigned([
        { memberId: 'a-1', claims: { member: 'a-1', owned: [1], busy: [1] } },
        { memberId: 'b-1', claims: { member: 'b-1', owned: [0], busy: [] } },
      ]),
    ).toEqual({ 'a-1': [1], 'b-1': [0] });
  });
});
