import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/**
 * Where group members record that they are alive and which partition each one owns.
 * Backends without broker-side group management (Redis, NATS) implement it with keys that
 * expire, so a member that dies stops owning its partitions after `ttlMs`.
 */
export interface LeaseStore {
  /** Marks `member` alive for `ttlMs`; returns every live member of the group. */
  heartbeat(member: string, ttlMs: number): Promise<string[]>;
  /** Removes `member` from the live set at once. */
  leave(member: string): Promise<void>;
  /**
   * Takes the partition's lease when it is free, or extends it when `member` holds it.
   * Returns whether `member` holds it afterwards. Must be atomic.
   */
  acquire(partition: number, member: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, only if `member` holds it. */
  release(partition: number, member: string): Promise<void>;
}

export interface PartitionBalancerOptions {
  readonly store: LeaseStore;
  readonly member: string;
  readonly partitions: number;
  /** A member silent for this long is dead; its leases lapse. */
  readonly leaseTtlMs: number;
  /** How often members heartbeat, renew and rebalance; well under `leaseTtlMs`. */
  readonly intervalMs: number;
  /** This member now owns `partition`: start consuming it. */
  readonly onAssigned: (partition: number) => void | Promise<void>;
  /** Stop consuming `partition` and finish its running handlers; the lease is released after. */
  readonly onRevoked: (partition: number) => Promise<void>;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * Gives each partition to one live member at a time, so per-key order holds across the
 * group. Every member computes the same target assignment from the sorted live-member list
 * (partition p → member p mod n); a member hands a partition over only after its running
 * handlers finished, and takes one only when the previous owner released it or its lease
 * lapsed, so two members never run the same key at once.
 */
export class PartitionBalancer {
  private readonly owned = new Set<number>();
  private readonly releasing = new Map<number, Promise<void>>();
  private timer: unknown;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly options: PartitionBalancerOptions;

  constructor(options: PartitionBalancerOptions) {
    this.options = options;
  }

  /** Partitions this member consumes now. */
  get assigned(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  /** Joins the group and runs the first round. */
  async start(): Promise<void> {
    await this.tick();
    this.schedule();
  }

  /** Runs a round now (e.g. when another member announced a join). */
  nudge(): Promise<void> {
    return this.tick();
  }

  /**
   * Leaves: revokes every owned partition (draining handlers), releases the leases and
   * drops out of the live set, so the others take over at once instead of after the TTL.
   */
  async stop(options: { release: boolean } = { release: true }): Promise<void> {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    await this.ticking;
    await Promise.all(this.releasing.values());
    const { store, member } = this.options;
    if (!options.release) return;
    await Promise.all(
      [...this.owned].map(async (partition) => {
        await this.options.onRevoked(partition);
        await store.release(partition, member).catch((error: unknown) => this.warn(error, partition, 'release failed'));
      }),
    );
    this.owned.clear();
    await store.leave(member).catch((error: unknown) => this.warn(error, undefined, 'leave failed'));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.options.clock.setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private tick(): Promise<void> {
    this.ticking ??= this.round()
      .catch((error: unknown) => this.warn(error, undefined, 'rebalance round failed'))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const { store, member, partitions, leaseTtlMs } = this.options;
    const members = (await store.heartbeat(member, leaseTtlMs)).sort();
    if (!members.includes(member)) {
      members.push(member);
      members.sort();
    }
    const index = members.indexOf(member);
    const target = new Set<number>();
    for (let p = index; p < partitions; p += members.length) target.add(p);

    await Promise.all(
      Array.from({ length: partitions }, async (_, partition) => {
        if (this.stopped) return;
        if (this.releasing.has(partition)) {
          await store.acquire(partition, member, leaseTtlMs); // keep it while draining
          return;
        }
        if (this.owned.has(partition) && !target.has(partition)) return this.handOver(partition);
        if (!target.has(partition)) return;
        const held = await store.acquire(partition, member, leaseTtlMs);
        if (held && !this.owned.has(partition) && !this.stopped) {
          this.owned.add(partition);
          this.options.logger.debug({ partition, member }, 'partition assigned');
          await this.options.onAssigned(partition);
        } else if (!held && this.owned.has(partition)) {
          // Our lease lapsed (we stalled past the TTL) and someone else holds it now.
          this.owned.delete(partition);
          this.options.logger.warn({ partition, member }, 'partition lease lost');
          await this.options.onRevoked(partition);
        }
      }),
    );
  }

  /** Revokes in the background so other leases keep being renewed meanwhile. */
  private handOver(partition: number): void {
    this.owned.delete(partition);
    const { store, member } = this.options;
    const handOver = this.options
      .onRevoked(partition)
      .then(() => store.release(partition, member))
      .catch((error: unknown) => this.warn(error, partition, 'hand-over failed'))
      .finally(() => {
        this.releasing.delete(partition);
        this.options.logger.debug({ partition, member }, 'partition handed over');
      });
    this.releasing.set(partition, handOver);
  }

  private warn(error: unknown, partition: number | undefined, message: string): void {
    this.options.logger.warn({ err: error, partition, member: this.options.member }, message);
  }
}
