import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, sleep, type Clock } from '../src/clock.js';
import { PartitionBalancer, type LeaseStore } from '../src/consumer/partition-balancer.js';
import { silentLogger } from '../src/logger.js';
import { propertyParams } from './support/fast-check.js';

// Members of one group on a shared lease store and one ManualClock: random joins, graceful
// leaves, crashes (the process is gone: its timers never fire, its leases lapse), handlers that
// take time to drain. Properties: a partition is never consumed by two members at once, and
// once things are quiet every partition is consumed by exactly one live member, p → p mod n.

const TTL = 1_000;
const INTERVAL = 200;

class SharedLeaseStore {
  readonly members = new Map<string, number>();
  readonly leases = new Map<number, { member: string; until: number }>();
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  /**
   * The store as one member sees it; calls of a dead member never arrive. `batched`: it also
   * offers `acquireAll` (all of a round's leases in one call), which the balancer then uses.
   */
  view(member: { dead: boolean; cutUntil: number }, batched = false): LeaseStore {
    const alive = (): void => {
      if (member.dead) throw new Error('process gone');
      if (this.clock.now() < member.cutUntil) throw new Error('store unreachable');
    };
    const acquire = (partition: number, id: string, ttlMs: number): boolean => {
      const lease = this.leases.get(partition);
      if (lease && lease.member !== id && lease.until > this.clock.now()) return false;
      this.leases.set(partition, { member: id, until: this.clock.now() + ttlMs });
      return true;
    };
    return {
      ...(batched && {
        acquireAll: async (partitions: readonly number[], id: string, ttlMs: number) => {
          alive();
          return partitions.map((partition) => acquire(partition, id, ttlMs));
        },
      }),
      heartbeat: async (id, ttlMs) => {
        alive();
        this.members.set(id, this.clock.now() + ttlMs);
        return [...this.members].filter(([, until]) => until > this.clock.now()).map(([m]) => m);
      },
      leave: async (id) => {
        alive();
        this.members.delete(id);
      },
      acquire: async (partition, id, ttlMs) => {
        alive();
        return acquire(partition, id, ttlMs);
      },
      release: async (partition, id) => {
        alive();
        if (this.leases.get(partition)?.member === id) this.leases.delete(partition);
      },
    };
  }
}

/** A member's clock: once the process is dead its timers never fire. */
function processClock(clock: ManualClock, member: { dead: boolean }): Clock {
  return {
    now: () => clock.now(),
    setTimeout: (callback, ms) => clock.setTimeout(() => void (member.dead || callback()), ms),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}

interface Member {
  readonly id: string;
  dead: boolean;
  cutUntil: number;
  stopping: boolean;
  readonly balancer: PartitionBalancer;
  readonly consuming: Set<number>;
}

type Op =
  | { type: 'join' }
  | { type: 'leave'; pick: number }
  | { type: 'crash'; pick: number }
  | { type: 'cut'; pick: number; ms: number }
  | { type: 'advance'; ms: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('join' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leave' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('crash' as const), pick: fc.nat() }) },
  // 'cut' (the member cannot reach the store for a while) is left out of the random mix: it
  // finds the known fencing gap pinned down below.
  { weight: 4, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }) },
);

describe('PartitionBalancer properties', () => {
  it('never two consumers of a partition at once; quiet, every partition has exactly its target member', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 400 }),
        fc.boolean(),
        fc.array(op, { maxLength: 25 }),
        async (partitions, drainMs, batched, ops) => {
          const clock = new ManualClock(0);
          const store = new SharedLeaseStore(clock);
          const members: Member[] = [];
          const violations: string[] = [];
          const flush = async (): Promise<void> => {
            for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
          };
          const advance = async (ms: number): Promise<void> => {
            for (let left = ms; left > 0; left -= 50) {
              clock.advance(Math.min(50, left));
              await flush();
            }
          };
          let joined = 0;
          const join = (): void => {
            const state = { dead: false, cutUntil: 0 };
            const id = `m${String(joined++).padStart(2, '0')}`;
            const consuming = new Set<number>();
            const memberClock = processClock(clock, state);
            const balancer = new PartitionBalancer({
              store: store.view(state, batched),
              member: id,
              partitions,
              leaseTtlMs: TTL,
              intervalMs: INTERVAL,
              clock: memberClock,
              logger: silentLogger,
              onAssigned: (p) => {
                for (const other of members)
                  if (other.id !== id && other.consuming.has(p)) violations.push(`${id} took partition ${p} while ${other.id} still consumed it`);
                consuming.add(p);
              },
              onRevoked: async (p) => {
                await sleep(memberClock, drainMs);
                consuming.delete(p);
              },
            });
            const member = Object.assign(state, { id, stopping: false, balancer, consuming });
            members.push(member);
            void balancer.start().catch(() => {});
          };
          const live = () => members.filter((m) => !m.dead && !m.stopping);
          join();
          for (const o of ops) {
            if (o.type === 'join') join();
            else if (o.type === 'advance') await advance(o.ms);
            else {
              const candidates = live();
              const member = candidates[o.pick % Math.max(1, candidates.length)];
              if (!member) continue;
              if (o.type === 'cut') member.cutUntil = clock.now() + o.ms;
              else if (o.type === 'leave') {
                member.stopping = true;
                void member.balancer.stop().then(() => void (member.dead = true));
              } else {
                member.dead = true; // SIGKILL: nothing of it runs any more
                member.consuming.clear();
              }
            }
            await flush();
          }
          if (live().length === 0) join();
          await advance(TTL * 6 + drainMs * 4);

          expect(violations).toEqual([]);
          const ids = live()
            .map((m) => m.id)
            .sort();
          for (let p = 0; p < partitions; p += 1) {
            const consumers = members.filter((m) => !m.dead && m.consuming.has(p)).map((m) => m.id);
            expect(consumers, `consumers of partition ${p}`).toEqual([ids[p % ids.length]]);
          }
          for (const m of live()) expect(m.balancer.assigned).toEqual([...m.consuming].sort((a, b) => a - b));
          for (const m of members) m.dead = true;
        },
      ),
      {
        ...propertyParams<[number, number, boolean, Op[]]>(150),
        examples: [
          // Found by seed 22103690 while lease renewals were being batched: a hand-over ended
          // while the round's renewal of its lease was on its way, and the round took the
          // partition back as if it were new (decided after the answer instead of when asked).
          [2, 151, false, [{ type: 'advance', ms: 100 }, { type: 'join' }]],
          [2, 151, true, [{ type: 'advance', ms: 100 }, { type: 'join' }]],
        ],
      },
    );
  }, 60_000);
});

describe('PartitionBalancer gap found by the property above with store cuts (closed)', () => {
  // The fence ran on the balancer's ticks and waited for the partition's handlers before the
  // next step, so the next owner could start before the fenced member stopped. A lost lease
  // now stops the partition at once (onLost) and revokes in the background.
  // Replays as FC_SEED=-1986479275 FC_PATH=58:1:0:3:2:5:7:2:5:7:5:4:4:4:4:5:5 with the 'cut' op.
  it.each([
    ['one call per lease', false],
    ['leases batched', true],
  ])('a member cut off from the store stops consuming before its lease can go to another member (%s)', async (_, batched) => {
    const clock = new ManualClock(0);
    const store = new SharedLeaseStore(clock);
    const violations: string[] = [];
    const consuming = new Map<number, string>();
    const flush = async (): Promise<void> => {
      for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    const states = [
      { id: 'm00', dead: false, cutUntil: 0 },
      { id: 'm01', dead: false, cutUntil: 0 },
    ];
    for (const state of states) {
      const memberClock = processClock(clock, state);
      void new PartitionBalancer({
        store: store.view(state, batched),
        member: state.id,
        partitions: 1,
        leaseTtlMs: TTL,
        intervalMs: INTERVAL,
        clock: memberClock,
        logger: silentLogger,
        onAssigned: (p) => {
          const holder = consuming.get(p);
          if (holder && holder !== state.id) violations.push(`${state.id} took partition ${p} while ${holder} still consumed it`);
          consuming.set(p, state.id);
        },
        onRevoked: async (p) => {
          await sleep(memberClock, 1);
          if (consuming.get(p) === state.id) consuming.delete(p);
        },
      })
        .start()
        .catch(() => {});
      await flush();
    }
    states[0]!.cutUntil = clock.now() + 801;
    for (let i = 0; i < 60; i += 1) {
      clock.advance(50);
      await flush();
    }
    expect(violations).toEqual([]);
  });
});
