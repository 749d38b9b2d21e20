import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { PartitionBalancer, type LeaseStore } from '../src/consumer/partition-balancer.js';
import { silentLogger } from '../src/logger.js';

/** Leases and members with expiry on a manual clock; `failing` makes every call throw. */
class FakeLeaseStore implements LeaseStore {
  readonly members = new Map<string, number>();
  readonly leases = new Map<number, { member: string; until: number }>();
  failing = false;
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  private check(): void {
    if (this.failing) throw new Error('store unreachable');
  }
  async heartbeat(member: string, ttlMs: number): Promise<string[]> {
    this.check();
    this.members.set(member, this.clock.now() + ttlMs);
    return [...this.members].filter(([, until]) => until > this.clock.now()).map(([m]) => m);
  }
  async leave(member: string): Promise<void> {
    this.members.delete(member);
  }
  async acquire(partition: number, member: string, ttlMs: number): Promise<boolean> {
    this.check();
    const lease = this.leases.get(partition);
    if (lease && lease.member !== member && lease.until > this.clock.now()) return false;
    this.leases.set(partition, { member, until: this.clock.now() + ttlMs });
    return true;
  }
  async release(partition: number, member: string): Promise<void> {
    if (this.leases.get(partition)?.member === member) this.leases.delete(partition);
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** `steps` balancer intervals of 200 ms, letting each round finish. */
async function rounds(clock: ManualClock, steps: number): Promise<void> {
  for (let i = 0; i < steps; i += 1) {
    clock.advance(200);
    await flush();
  }
}

function member(name: string, store: LeaseStore, clock: ManualClock, consuming: Map<number, string>, revokeDelay?: () => Promise<void>) {
  return new PartitionBalancer({
    store,
    member: name,
    partitions: 6,
    leaseTtlMs: 1_000,
    intervalMs: 200,
    clock,
    logger: silentLogger,
    onAssigned: (p) => {
      const other = consuming.get(p);
      if (other) throw new Error(`${name} assigned ${p} while ${other} consumes it`);
      consuming.set(p, name);
    },
    onRevoked: async (p) => {
      await revokeDelay?.();
      if (consuming.get(p) === name) consuming.delete(p);
    },
  });
}

describe('PartitionBalancer', () => {
  it('splits partitions between members and never gives one partition to two', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore(clock);
    const consuming = new Map<number, string>();
    const a = member('a', store, clock, consuming);
    const b = member('b', store, clock, consuming);
    await a.start();
    expect(a.assigned).toEqual([0, 1, 2, 3, 4, 5]);
    await b.start();
    await rounds(clock, 10);
    expect(a.assigned).toEqual([0, 2, 4]);
    expect(b.assigned).toEqual([1, 3, 5]);
    await a.stop();
    await rounds(clock, 10);
    expect(b.assigned).toEqual([0, 1, 2, 3, 4, 5]);
    await b.stop();
  });

  it("a dead member's partitions move once its leases lapse", async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore(clock);
    const consuming = new Map<number, string>();
    const a = member('a', store, clock, consuming);
    const b = member('b', store, clock, consuming);
    await a.start();
    await b.start();
    await rounds(clock, 10);
    await a.stop({ release: false }); // dies: no release, no leave
    for (const p of a.assigned) consuming.delete(p); // its process is gone
    await rounds(clock, 15);
    expect(b.assigned).toEqual([0, 1, 2, 3, 4, 5]);
    await b.stop();
  });

  it('fences itself off when it cannot renew its leases', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore(clock);
    const consuming = new Map<number, string>();
    const a = member('a', store, clock, consuming);
    await a.start();
    expect(a.assigned).toHaveLength(6);
    store.failing = true;
    await rounds(clock, 3);
    expect(a.assigned).toHaveLength(6); // 600 ms: still within 80% of the TTL
    await rounds(clock, 2);
    expect(a.assigned).toEqual([]); // 1000 ms: fenced before anyone else may take over
    expect(consuming.size).toBe(0);
    store.failing = false;
    await a.stop();
  });

  it('a member that slept through its lease holds nothing on waking, stops at once, and takes the partition again later', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore(clock);
    const consuming = new Map<number, string>();
    const lost: number[] = [];
    const revokes: Array<() => void> = [];
    const a = new PartitionBalancer({
      store,
      member: 'a',
      partitions: 2,
      leaseTtlMs: 1_000,
      intervalMs: 200,
      clock,
      logger: silentLogger,
      onAssigned: (p) => void consuming.set(p, 'a'),
      onRevoked: (p) =>
        new Promise<void>((resolve) => {
          revokes.push(() => {
            consuming.delete(p);
            resolve();
          });
        }),
      onLost: (p) => void lost.push(p),
    });
    await a.start();
    expect(a.holds(0)).toBe(true);
    clock.jump(900); // asleep 900 ms, no timer ran: on waking, the lease is too old to act on
    expect(a.holds(0)).toBe(false);
    expect(lost).toContain(0);
    expect(a.assigned).not.toContain(0);
    // Not taken again while its revoke still runs (a stale handler may still be finishing)…
    await rounds(clock, 3);
    expect(a.assigned).not.toContain(0);
    // …and taken again once it finished: never stuck.
    for (const finish of revokes) finish();
    await rounds(clock, 3);
    expect(a.assigned).toContain(0);
    expect(a.holds(0)).toBe(true);
    await a.stop({ release: false });
  });

  it('keeps renewing its leases while a slow drain runs on stop', async () => {
    const clock = new ManualClock();
    const store = new FakeLeaseStore(clock);
    const consuming = new Map<number, string>();
    let finishDrain!: () => void;
    const drained = new Promise<void>((resolve) => (finishDrain = resolve));
    const a = member('a', store, clock, consuming, () => drained);
    await a.start();
    const stopping = a.stop();
    await rounds(clock, 20);
    for (let p = 0; p < 6; p += 1) expect(store.leases.get(p)?.until).toBeGreaterThan(clock.now());
    finishDrain();
    await stopping;
    expect(store.leases.size).toBe(0);
  });
});
