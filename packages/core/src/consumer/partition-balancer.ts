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
  /**
   * Optional: `acquire` for several partitions in one store call (each one atomic on its
   * own), returning whether `member` holds each afterwards, in order. A round renews every
   * lease a member holds, so without it an idle member makes one store call per partition
   * per round; with it, one.
   */
  acquireAll?(partitions: readonly number[], member: string, ttlMs: number): Promise<boolean[]>;
  /** Gives the lease up, only if `member` holds it. */
  release(partition: number, member: string): Promise<void>;
}

/**
 * The lease store of a group that has one member, ever: an ephemeral group, whose broker-side
 * name belongs to one subscription. No other member can take a partition, so nothing is
 * written to the broker: the member holds every partition. The balancer still renews on its
 * own clock, so a member that stalled past its lease still fences its partitions and takes
 * them back through a fresh assignment, as it would with a shared store.
 */
export class SoleMemberLeaseStore implements LeaseStore {
  private readonly member: string;

  constructor(member: string) {
    this.member = member;
  }

  async heartbeat(): Promise<string[]> {
    return [this.member];
  }

  async leave(): Promise<void> {}

  async acquire(_partition: number, member: string): Promise<boolean> {
    return member === this.member;
  }

  async acquireAll(partitions: readonly number[], member: string): Promise<boolean[]> {
    return partitions.map(() => member === this.member);
  }

  async release(): Promise<void> {}
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
  /**
   * The lease of `partition` lapsed or went to another member while this one held it (it
   * stalled, or lost the store): stop at once — abort its handlers, refuse their acks
   * (`KeyedDispatcher.lose`). Called before `onRevoked`, which then runs in the background.
   */
  readonly onLost?: (partition: number, reason: string) => void;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Lost leases and failed renewals, for the transport's `onError` (they are logged either way). */
  readonly onError?: (event: { kind: 'lease-lost' | 'heartbeat-failed'; message: string; partition?: number; error?: unknown }) => void;
}

/**
 * Gives each partition to one live member at a time, so per-key order holds across the
 * group. Every member computes the same target assignment from the sorted live-member list
 * (partition p → member p mod n); a member hands a partition over only after its running
 * handlers finished, and takes one only when the previous owner released it or its lease
 * lapsed, so two members never run the same key at once.
 */
/** First retry after a failed round; doubles while rounds keep failing, up to the interval. */
const RETRY_AFTER_FAILED_ROUND_MS = 250;

export class PartitionBalancer {
  private readonly owned = new Set<number>();
  private readonly releasing = new Map<number, Promise<void>>();
  /**
   * Handed-over partitions whose release has been sent: no longer renewed, or a renewal sent
   * after the release would take the freed lease again and hold it from the next owner.
   */
  private readonly lettingGo = new Set<number>();
  /** Lost partitions whose revoke still runs: not taken again before it finished. */
  private readonly recovering = new Map<number, Promise<void>>();
  /** When each owned partition's lease was last renewed, on the clock. */
  private readonly renewedAt = new Map<number, number>();
  private timer: unknown;
  private ticking: Promise<void> | undefined;
  /** Rounds failed in a row: the next one comes sooner (see `schedule`). */
  private failedRounds = 0;
  private stopped = false;
  private readonly options: PartitionBalancerOptions;

  constructor(options: PartitionBalancerOptions) {
    this.options = options;
  }

  /** Partitions this member consumes now. */
  get assigned(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  /**
   * Whether this member holds `partition` right now by its own clock: owned (or being
   * handed over) and its lease renewed recently enough that no other member can have it.
   * False at once after a stall past the lease (SIGSTOP, GC), before any round has run.
   */
  holds(partition: number): boolean {
    if (!this.owned.has(partition) && !this.releasing.has(partition)) return false;
    const renewedAt = this.renewedAt.get(partition);
    if (renewedAt !== undefined && this.options.clock.now() - renewedAt <= this.options.leaseTtlMs * 0.8) return true;
    // Found stale between rounds (we stalled, or renewals lag): lost from now on, everywhere —
    // the consumer stops it, and it is taken again only through a fresh assignment.
    if (this.owned.has(partition)) this.lost(partition, 'lease not renewed in time');
    return false;
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
  async stop(options: { release: boolean; renewUntil?: Promise<unknown> } = { release: true }): Promise<void> {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    await this.ticking;
    await Promise.all(this.recovering.values());
    const { store, member, intervalMs, clock } = this.options;
    // Leases stay renewed until every partition has drained: a long handler must not see
    // its partition handed to another member while it still runs.
    const draining = new Set([...this.owned, ...this.releasing.keys()]);
    let renewal: unknown;
    const renew = (): void => {
      renewal = clock.setTimeout(() => {
        const partitions = [...draining].filter((partition) => !this.lettingGo.has(partition));
        const at = clock.now();
        void this.acquireAll(partitions).then((held) => {
          for (const [i, partition] of partitions.entries()) if (held[i]) this.renewedAt.set(partition, at);
        });
        renew();
      }, intervalMs);
    };
    renew();
    try {
      await Promise.all(this.releasing.values());
      // The caller drains its handlers itself (and releases after): keep the leases until then.
      if (!options.release) {
        await options.renewUntil?.catch(() => {});
        return;
      }
      await Promise.all(
        [...this.owned].map(async (partition) => {
          try {
            await this.options.onRevoked(partition);
          } catch (error) {
            // Not released: its lease lapses after the TTL. The others and the leave go on.
            this.warn(error, partition, 'revoke at stop failed; its lease is left to expire');
            draining.delete(partition);
            return;
          }
          draining.delete(partition);
          await store.release(partition, member).catch((error: unknown) => this.warn(error, partition, 'release failed'));
        }),
      );
      this.owned.clear();
      await store.leave(member).catch((error: unknown) => this.warn(error, undefined, 'leave failed'));
    } finally {
      clock.clearTimeout(renewal);
    }
  }

  /**
   * The next round `intervalMs` after the last one ended, sooner after a failed one (250 ms,
   * doubling up to the interval): a store that was away for a moment (a broker restart) is
   * back before the leases run out. While a round still waits on a slow store, the timer
   * keeps firing to fence: a lease not renewed in time is given up on time, not when that
   * round ends.
   */
  private schedule(): void {
    if (this.stopped) return;
    const { intervalMs, clock } = this.options;
    const delay = this.failedRounds > 0 ? Math.min(intervalMs, RETRY_AFTER_FAILED_ROUND_MS * 2 ** (this.failedRounds - 1)) : intervalMs;
    clock.clearTimeout(this.timer);
    this.timer = clock.setTimeout(() => {
      if (this.stopped) return;
      if (this.ticking) {
        void this.fence();
        this.schedule();
        return;
      }
      const round = this.tick();
      // Fences go on meanwhile if the round hangs; when it ends, the next is timed from then.
      this.schedule();
      void round.finally(() => this.schedule());
    }, delay);
  }

  private tick(): Promise<void> {
    this.ticking ??= this.fence()
      .then(() => this.round())
      .then(() => {
        this.failedRounds = 0;
      })
      .catch((error: unknown) => {
        this.failedRounds += 1;
        this.warn(error, undefined, 'rebalance round failed: heartbeat and lease renewal did not go through');
        this.options.onError?.({ kind: 'heartbeat-failed', message: 'rebalance round failed: heartbeat and lease renewal did not go through', error });
      })
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  /**
   * A lease not renewed for most of its TTL (the store unreachable, this process stalled)
   * may be someone else's soon: stop consuming the partition before that can happen.
   */
  private async fence(): Promise<void> {
    const now = this.options.clock.now();
    const limit = this.options.leaseTtlMs * 0.8;
    for (const partition of [...this.owned]) {
      if (now - (this.renewedAt.get(partition) ?? now) <= limit) continue;
      this.lost(partition, 'lease not renewed in time');
    }
    // A partition being handed over stays leased while its handlers drain: one whose lease was
    // not renewed in time (this member stalled mid-hand-over) may be another's already, so its
    // handlers are stopped too. The hand-over under way goes on (its revoke returns at once).
    for (const partition of [...this.releasing.keys()]) {
      const renewedAt = this.renewedAt.get(partition);
      if (renewedAt === undefined || now - renewedAt <= limit) continue;
      this.renewedAt.delete(partition);
      const message = 'partition lost while handed over (lease not renewed in time); its handlers are stopped';
      this.options.logger.warn({ kind: 'lease-lost', partition, member: this.options.member }, message);
      this.options.onError?.({ kind: 'lease-lost', message, partition });
      this.options.onLost?.(partition, 'lease not renewed in time while handed over');
    }
  }

  /**
   * Stops consuming a partition whose lease this member may no longer hold, without waiting
   * for its handlers: they are aborted and their acks refused (`onLost`), and the revoke runs
   * in the background, so one slow handler never holds back the renewal of other leases.
   */
  private lost(partition: number, reason: string): void {
    this.owned.delete(partition);
    this.renewedAt.delete(partition);
    const message = `partition lost (${reason}); its handlers are stopped`;
    this.options.logger.warn({ kind: 'lease-lost', partition, member: this.options.member }, message);
    this.options.onError?.({ kind: 'lease-lost', message, partition });
    this.options.onLost?.(partition, reason);
    const revoked = this.options
      .onRevoked(partition)
      .catch((error: unknown) => this.warn(error, partition, 'revoke after a lost lease failed'))
      .finally(() => this.recovering.delete(partition));
    this.recovering.set(partition, revoked);
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    const { store, member, partitions, leaseTtlMs, clock } = this.options;
    const members = (await store.heartbeat(member, leaseTtlMs)).sort();
    if (!members.includes(member)) {
      members.push(member);
      members.sort();
    }
    const index = members.indexOf(member);
    const target = new Set<number>();
    for (let p = index; p < partitions; p += members.length) target.add(p);

    // Leases to renew: partitions being handed over (kept while they drain) and this
    // member's share; a partition owned but no longer ours is handed over.
    const asked: number[] = [];
    const draining = new Set<number>();
    for (let partition = 0; partition < partitions; partition += 1) {
      if (this.stopped || this.recovering.has(partition) || this.lettingGo.has(partition)) continue;
      if (this.releasing.has(partition)) draining.add(partition);
      else if (this.owned.has(partition) && !target.has(partition)) this.handOver(partition);
      if (draining.has(partition) || target.has(partition)) asked.push(partition);
    }
    if (asked.length === 0) return;
    const at = clock.now();
    const held = await this.acquireAll(asked);
    await Promise.all(
      asked.map((partition, i) => {
        // Kept only while it drains (decided when asked: its hand-over may end meanwhile).
        if (draining.has(partition)) return void (held[i] && this.renewedAt.set(partition, at));
        return this.settleLease(partition, held[i], at).catch((error: unknown) => this.warn(error, partition, 'partition round failed'));
      }),
    );
  }

  /**
   * One store call for all `partitions` when the store can batch, else one per partition (a
   * failing one does not hold the others back). `undefined` where the call failed (logged):
   * nothing changes for that partition this round, and `fence` stops it if that lasts.
   */
  private async acquireAll(partitions: readonly number[]): Promise<(boolean | undefined)[]> {
    const { store, member, leaseTtlMs } = this.options;
    if (partitions.length === 0) return [];
    if (store.acquireAll) {
      try {
        return await store.acquireAll(partitions, member, leaseTtlMs);
      } catch (error) {
        this.warn(error, undefined, `lease renewal of partitions ${partitions.join(',')} failed`);
        return partitions.map(() => undefined);
      }
    }
    return Promise.all(
      partitions.map((partition) =>
        store.acquire(partition, member, leaseTtlMs).catch((error: unknown) => {
          this.warn(error, partition, 'partition round failed');
          return undefined;
        }),
      ),
    );
  }

  /** Applies one partition's lease answer, asked for at `at`. */
  private async settleLease(partition: number, held: boolean | undefined, at: number): Promise<void> {
    const { store, member } = this.options;
    if (held === undefined) return;
    if (held) this.renewedAt.set(partition, at);
    // Lost while the acquire was on its way: its revoke runs; it is taken again only after that.
    if (held && !this.owned.has(partition) && !this.stopped && !this.recovering.has(partition)) {
      this.owned.add(partition);
      this.options.logger.debug({ partition, member }, 'partition assigned');
      try {
        await this.options.onAssigned(partition);
      } catch (error) {
        // Not consuming it: give it back rather than hold a lease nobody serves.
        this.owned.delete(partition);
        this.renewedAt.delete(partition);
        await store.release(partition, member);
        throw error;
      }
    } else if (!held && this.owned.has(partition)) {
      // Our lease lapsed (we stalled past the TTL) and someone else holds it now.
      this.lost(partition, 'lease taken by another member');
    }
  }

  /** Revokes in the background so other leases keep being renewed meanwhile. */
  private handOver(partition: number): void {
    this.owned.delete(partition);
    const { store, member } = this.options;
    const handOver = this.options
      .onRevoked(partition)
      .then(() => {
        this.lettingGo.add(partition);
        return store.release(partition, member);
      })
      .catch((error: unknown) => this.warn(error, partition, 'hand-over failed'))
      .finally(() => {
        this.lettingGo.delete(partition);
        this.releasing.delete(partition);
        if (!this.owned.has(partition)) this.renewedAt.delete(partition);
        this.options.logger.debug({ partition, member }, 'partition handed over');
      });
    this.releasing.set(partition, handOver);
  }

  private warn(error: unknown, partition: number | undefined, message: string): void {
    this.options.logger.warn({ err: error, partition, member: this.options.member }, message);
  }
}
