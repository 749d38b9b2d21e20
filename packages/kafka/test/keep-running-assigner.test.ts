import { describe, expect, it } from 'vitest';
import { assignPartitions } from '../src/keep-running-assigner.js';

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
});
