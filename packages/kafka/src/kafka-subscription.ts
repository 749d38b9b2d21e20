import {
  defaultRetryPolicy,
  type CloseOptions,
  type EnvelopeInput,
  type Instrumentation,
  type Logger,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from '@a2a-bus/core';
import { AckedPrefix, KeyedDispatcher, reportError, systemClock, type InboundRecord } from '@a2a-bus/core/adapter';
import type { Socket } from 'node:net';
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { isGenerationOver, isMembershipError } from './kafka-errors.js';
import { KEEP_RUNNING_ASSIGNER, keepRunningAssigner, type MemberClaims } from './keep-running-assigner.js';
import { OffsetCommitter, type CommitFn } from './offset-committer.js';
import type { KafkaConfig } from './options.js';
import { decodeSettledAhead, encodeSettledAhead } from './settled-ahead.js';
import { pinLatestStart } from './start-position.js';

export interface KafkaSubscriptionDeps {
  readonly kafka: Kafka;
  readonly admin: () => Promise<Admin>;
  /** The Kafka consumer group id for this a2a-bus group and topic. */
  readonly groupId: string;
  readonly config: KafkaConfig;
  readonly logger: Logger;
  readonly events: Required<Instrumentation>;
  readonly partitions: number;
  readonly publishDeadLetter: (topic: string, envelope: EnvelopeInput) => Promise<void>;
  /** Runs when the subscription closed; `close()` resolves after what it returns. */
  readonly onClosed: (subscription: KafkaSubscription) => void | Promise<void>;
}

/** A record handed to the dispatcher, stamped with the group generation it was fetched in. */
interface KafkaRecord extends InboundRecord {
  readonly epoch: number;
}

/** What this member handed out of one partition in the current generation. */
interface PartitionState {
  readonly prefix: AckedPrefix;
  lastTracked: bigint;
  /** Offsets handled beyond the commit (by the previous owner, or here before a rebalance): settled without running. */
  readonly handledBefore: Set<bigint>;
  /** Records of handlers that ran on through the rebalance that kept this partition here: they settle into this generation. */
  readonly carried?: Map<bigint, KafkaRecord>;
  /** Set while the partition waits for its oldest message to settle (`maxOutstandingPerPartition`). */
  wakeWhenSettled?: () => void;
}

/** How long a join waits for the committed offsets' metadata before handing everything out again. */
const settledAheadFetchMs = 5_000;

const emptyValue = new Uint8Array(0);

/**
 * One group member on one topic, over a kafkajs consumer with `eachBatch`.
 *
 * `eachBatch` hands records to the keyed dispatcher and returns, so kafkajs keeps fetching
 * while handlers run: a slow key holds only itself. It blocks only while the dispatcher is
 * full (backpressure), heartbeating meanwhile. Settled offsets are committed per partition
 * up to the contiguous settled prefix, throttled.
 *
 * Rebalances: kafkajs has no revoke callback, so the transport's socket factory holds this
 * member's JoinGroup / LeaveGroup until it let go of the generation: queued records are
 * dropped and the settled prefix is committed under the generation that still owns it. A
 * LeaveGroup also waits for the running handlers (within the rebalance budget). A JoinGroup
 * does not: it claims the partitions with handlers running (`prepareJoin`), the assigner
 * gives them back to this member, and those handlers settle into the next generation
 * (`carryOver`). No other member gets a partition before every member rejoined (eager
 * protocol), so a key never runs on two members and no stale offset is ever committed; and a
 * dead member's work waits for its session to expire, not for the survivors' longest handler.
 */
export class KafkaSubscription implements Subscription {
  readonly topic: string;
  readonly group: string;
  private readonly deps: KafkaSubscriptionDeps;
  private readonly consumer: Consumer;
  private readonly dispatcher: KeyedDispatcher<KafkaRecord>;
  private readonly states = new Map<number, PartitionState>();
  private readonly commits: OffsetCommitter;
  /** `eachBatch` calls blocked on a full dispatcher; resolved to let them return. */
  private readonly blocked = new Set<() => void>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The latest `eachBatch` payload: its heartbeat and commit act on the current generation. */
  private payload: EachBatchPayload | undefined;
  /** Counts group joins; records belong to the generation they were fetched in. */
  private epoch = 0;
  /** True from the moment this member starts letting go of its partitions until the next join. */
  private released = true;
  private releasing: Promise<void> | undefined;
  /** A heartbeat learned the generation is over; blocked batches rethrow it so kafkajs rejoins. */
  private membershipError: unknown;
  private assigned: number[] = [];
  /** After close: nothing is settled or committed any more. */
  private frozen = false;
  private closing: Promise<void> | undefined;
  private readonly startFrom: 'earliest' | 'latest';
  /** The start-position commit of the latest join (`startFrom: 'latest'` only). */
  private pinning: Promise<void> | undefined;
  /** When the stall watch last ran (wall clock). A gap past the session means we were asleep. */
  private lastTick = Date.now();
  private stallTimer: NodeJS.Timeout | undefined;
  /** The generation this member knows it lost (stall past the session, unknown member): nothing of it starts or settles. */
  private lostEpoch = -1;
  /** When the coordinator last answered a heartbeat (or a join) of this member, on our clock. */
  private lastHeartbeatAt = Date.now();
  /** When this member's latest SyncGroup request went out (kafkajs's `sentAt`, our clock). */
  private syncSentAt: number | undefined;
  /** Per partition, what the previous owners handled beyond the committed offset; fetched on each join. */
  private handledBefore: Promise<Map<number, Set<bigint>>> = Promise.resolve(new Map());
  /** A per-process group: this member is its only one, so its own commits are the group's cursor. */
  private readonly ephemeral: boolean;
  /** Ephemeral groups: the position this member last committed per partition (where it resumes on a rejoin). */
  private readonly positions = new Map<number, string>();
  private joinedOnce = false;
  /** A restart of the kafkajs consumer that lost its membership without knowing it (see `checkMembership`). */
  private restarting: Promise<void> | undefined;
  /**
   * The socket this member's JoinGroup went out on, until the group answered it. The
   * coordinator keeps a member whose JoinGroup it holds alive without heartbeats (they would
   * queue behind the join on that connection anyway); should the connection end, that no
   * longer holds.
   */
  private joinSocket: Socket | undefined;
  private forgetJoinSocket: (() => void) | undefined;
  /** This member's id in the group as of its latest join (kafkajs joins under a new one after an eviction). */
  memberId: string | undefined;
  /** The protocol the group agreed on at the latest join: the keep-running assignor, or round-robin (older members). */
  private groupProtocol: string | undefined;
  /** From building a JoinGroup until the join completed: the JoinGroup the gate sees is this member's. */
  joining = false;

  constructor(topic: string, handler: MessageHandler, options: SubscribeOptions, deps: KafkaSubscriptionDeps) {
    this.topic = topic;
    this.group = options.group;
    this.deps = deps;
    this.startFrom = options.startFrom ?? 'earliest';
    this.ephemeral = options.ephemeral ?? false;
    const { config } = deps;
    this.consumer = deps.kafka.consumer({
      groupId: deps.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      rebalanceTimeout: config.rebalanceTimeoutMs,
      partitionAssigners: [keepRunningAssigner(() => this.prepareJoin()), kafkajs.PartitionAssigners.roundRobin],
      maxWaitTimeInMs: config.maxWaitTimeMs,
      maxBytesPerPartition: config.maxBytesPerPartition,
      retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
    });
    this.commits = new OffsetCommitter(config.commitIntervalMs, deps.logger, (error) => {
      this.reportError('warn', 'settle-failed', 'offset commit failed; retried with the next one (a crash meanwhile redelivers)', error);
      // "The coordinator is not aware of this member": the generation is over, stop at once.
      if (isGenerationOver(error)) this.sessionLost(error, 'offset commit refused: this member is no longer in the group');
    });
    this.dispatcher = new KeyedDispatcher<KafkaRecord>({
      transport: 'kafka',
      topic,
      group: options.group,
      handler,
      maxInFlight: options.maxInFlight ?? 64,
      maxInFlightBytes: options.maxInFlightBytes,
      maxRecordBytes: config.maxEnvelopeBytes,
      retry: { ...defaultRetryPolicy, ...options.retry },
      deadLetterTopic: options.deadLetterTopic ?? `${topic}.dlq`,
      onDeadLetter: options.onDeadLetter,
      backend: {
        settle: (record) => this.settle(record),
        publishDeadLetter: deps.publishDeadLetter,
        holds: () => this.holdsSession(),
      },
      events: deps.events,
      logger: deps.logger,
      clock: systemClock,
    });
  }

  assignedPartitions(): readonly number[] {
    return this.released ? [] : this.assigned;
  }

  /** Joins the group; resolves once this member got its (possibly empty) assignment. */
  async start(joinTimeoutMs: number): Promise<void> {
    const { consumer } = this;
    let onJoin!: () => void;
    let onFail!: (error: unknown) => void;
    const joined = new Promise<void>((resolve, reject) => {
      onJoin = resolve;
      onFail = reject;
    });
    void joined.then(
      () => (this.joinedOnce = true),
      () => undefined,
    );
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const evicted = this.memberId !== undefined && payload.memberId !== this.memberId;
      this.epoch += 1;
      this.released = false;
      this.joining = false;
      this.memberId = payload.memberId;
      this.groupProtocol = payload.groupProtocol;
      this.membershipError = undefined;
      this.setJoinSocket(undefined);
      this.assigned = [...(payload.memberAssignment[this.topic] ?? [])].sort((a, b) => a - b);
      this.carryOver(evicted);
      for (const partition of this.assigned) this.dispatcher.assign(partition);
      this.resumeOwnPositions();
      this.lastTick = Date.now();
      // The coordinator counts the new generation's session from the join, not from when its
      // answer is read: a process stalled while the SyncGroup answer waited in its socket
      // (the fault harness paused a worker just then) wakes into a generation the group may
      // have expired it from meanwhile, and must not start that generation's records.
      this.lastHeartbeatAt = Math.min(this.lastTick, this.syncSentAt ?? this.lastTick);
      if (this.startFrom === 'latest') this.pinning = this.pinStart(this.epoch);
      this.handledBefore = this.fetchHandledBefore();
      this.deps.logger.debug({ assigned: this.assigned, epoch: this.epoch }, 'joined group');
      onJoin();
    });
    consumer.on(consumer.events.HEARTBEAT, () => void (this.lastHeartbeatAt = Date.now()));
    consumer.on(consumer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'SyncGroup') this.syncSentAt = payload.sentAt;
      if (payload.apiName === 'JoinGroup') {
        // Answered (kafkajs reports it before reading the answer: a refusal as an unknown
        // member shows when it joins again under a new id, see beforeJoin): SyncGroup is due
        // within the session now.
        this.setJoinSocket(undefined);
        this.lastHeartbeatAt = Date.now();
      }
    });
    consumer.on(consumer.events.FETCH, () => this.checkMembership(true));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.reportError(
        'error',
        payload.restart ? 'consumer-failed' : 'subscription-closed',
        `kafka consumer crashed (${payload.restart ? 'kafkajs restarts it' : 'restarted by a2a-bus'})`,
        payload.error,
      );
      if (payload.restart || this.closing) return;
      // kafkajs restarts only after retriable errors; a member that joined once keeps trying.
      if (this.joinedOnce) this.revive();
      else onFail(payload.error);
    });
    this.watchForStalls();
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: this.startFrom === 'earliest' });
    await this.run();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`group ${this.group} not joined within ${joinTimeoutMs} ms`)), joinTimeoutMs);
    });
    try {
      await Promise.race([joined, timeout]);
      // A join right after the first (kafkajs refreshing metadata) pins again: wait for the last.
      for (let pinned: Promise<void> | undefined; pinned !== this.pinning; ) {
        pinned = this.pinning;
        await Promise.race([pinned, timeout]);
      }
    } catch (error) {
      await this.close({ drainTimeoutMs: 0 });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutDown(options.drainTimeoutMs ?? 30_000).finally(() => this.deps.onClosed(this));
    return this.closing;
  }

  /**
   * Called (through the socket factory) right before kafkajs sends a JoinGroup of this
   * member's group: resolves once the generation is let go (see `prepareJoin`).
   */
  beforeJoin(memberId: string | undefined, surelyOurs: boolean): Promise<void> | undefined {
    // kafkajs joins under a new member id (or none) once the coordinator answered "unknown
    // member": the group evicted us, and may have given the partitions we kept running to
    // someone else already. Stop those handlers now, not when the join completes.
    if (surelyOurs && memberId !== undefined && this.memberId !== undefined && memberId !== this.memberId && this.states.size > 0)
      this.sessionLost(undefined, `rejoining as a new member (${memberId || 'no id'}, was ${this.memberId}): the group evicted this one`);
    return this.releasing;
  }

  /** A JoinGroup of this member went out on `socket` (see `joinSocket`). */
  joinSent(socket: Socket): void {
    if (this.released && !this.closing) this.setJoinSocket(socket);
  }

  /**
   * The coordinator holds a member's JoinGroup until the group rejoined, and keeps the member
   * alive meanwhile without heartbeats (which would queue behind the join on that connection
   * anyway). Set until the JoinGroup is answered or the connection ends.
   */
  private setJoinSocket(socket: Socket | undefined): void {
    this.forgetJoinSocket?.();
    this.forgetJoinSocket = undefined;
    this.joinSocket = socket;
    if (!socket) return;
    const ended = (): void => this.setJoinSocket(undefined);
    socket.once('close', ended);
    this.forgetJoinSocket = () => socket.off('close', ended);
  }

  /**
   * Called (through the socket factory) right before kafkajs sends a LeaveGroup of this
   * member's group: let go of every partition, waiting for running handlers (those kept
   * through a rebalance, too). Resolves when the request may go.
   */
  beforeLeave(): Promise<void> | undefined {
    const releasing = this.releasing;
    if (releasing) return releasing.then(() => this.beforeLeave());
    if (this.released && this.states.size === 0) return undefined;
    this.released = true;
    this.releasing = this.release(new Set()).finally(() => (this.releasing = undefined));
    return this.releasing;
  }

  /**
   * kafkajs is building this member's JoinGroup (the assigner asks for its claims): let go of
   * the generation at once — nothing more starts here, queued records are dropped, and the
   * settled prefix is committed before the request goes (`beforeJoin`) — but leave the
   * running handlers running. Their partitions are claimed as busy, and the assigner gives
   * them back to this member.
   */
  private prepareJoin(): MemberClaims {
    this.joining = true;
    const member = this.memberId;
    if (this.frozen) return { owned: [], busy: [] };
    this.holdsSession(); // a process that just woke from a stall learns first that it lost its generation
    if (this.released) {
      // Let go already (a join tried again): what still runs here.
      const busy = [...this.states.keys()].filter((partition) => this.dispatcher.runningIn(partition).length > 0);
      return { ...(member ? { member } : {}), owned: busy, busy };
    }
    this.released = true;
    this.unblockAll();
    const owned = this.lostEpoch === this.epoch ? [] : this.assigned;
    // Closing, or in a group that agreed on round-robin (a member of an older release is in
    // it), which would give a busy partition to another member: let go of everything first,
    // waiting for the running handlers, as a leaving member does.
    const keepRunning = !this.closing && (this.groupProtocol === undefined || this.groupProtocol === KEEP_RUNNING_ASSIGNER);
    const busy = keepRunning ? [...this.states.keys()].filter((partition) => this.dispatcher.hold(partition).length > 0) : [];
    this.releasing = this.release(new Set(busy)).finally(() => (this.releasing = undefined));
    return { ...(member ? { member } : {}), owned, busy };
  }

  /** Lets go of every partition but `keep` (busy ones this member claims back): their states stay. */
  private async release(keep: ReadonlySet<number>): Promise<void> {
    const epoch = this.epoch;
    this.unblockAll();
    const partitions = [...this.states.keys()];
    if (!this.frozen && partitions.length > 0) {
      this.startTimers(); // keep the session alive while handlers finish
      const { rebalanceTimeoutMs, sessionTimeoutMs } = this.deps.config;
      const budget = Math.max(1_000, rebalanceTimeoutMs - sessionTimeoutMs);
      // Past the budget the group moves on without us: handlers still running are stopped
      // (signal aborted, acks refused), so a key never runs here and on its next owner at once.
      const leaving = partitions.filter((partition) => !keep.has(partition));
      await Promise.all(leaving.map((partition) => this.dispatcher.revoke(partition, { timeoutMs: budget })));
      const stopped = leaving.filter((partition) => this.dispatcher.isLost(partition));
      if (stopped.length > 0)
        this.reportError(
          'warn',
          'lease-lost',
          `handlers on partitions ${stopped.join(',')} still running when the group moved on were stopped (signal aborted, acks refused); their messages run again elsewhere`,
        );
      // The group is preparing the rebalance: this generation may still commit.
      const commit = this.commitFn(true);
      if (commit) await this.commits.flush(commit);
    }
    // A join completed meanwhile (a sibling subscription's LeaveGroup made us wait): the
    // states now are the new generation's.
    if (this.epoch !== epoch) return;
    for (const partition of partitions) if (!keep.has(partition)) this.states.delete(partition);
    this.commits.clear();
    this.stopTimers();
  }

  /**
   * The new generation's assignment is in. Partitions this member kept running handlers on
   * through the rebalance go on here: the running records settle into this generation, what
   * was settled is not run again when fetched anew, and what was dropped is fetched and runs
   * again. One given to another member (a group without the keep-running assigner) has its
   * handlers stopped at once (signal aborted, acks refused).
   */
  private carryOver(evicted: boolean): void {
    const kept = [...this.states];
    this.states.clear();
    this.commits.clear();
    for (const [partition, state] of kept) {
      // Fenced meanwhile (evicted, stalled): another member may have moved the partition on since.
      if (this.dispatcher.isLost(partition)) continue;
      if (evicted || !this.assigned.includes(partition)) {
        const reason = evicted
          ? 'this member was evicted from the group while its handlers ran'
          : 'the partition went to another member while its handlers ran here';
        this.dispatcher.lose(partition, reason);
        this.reportError(
          'warn',
          'lease-lost',
          `partition ${partition}: ${reason}; they were stopped (signal aborted, acks refused) and their messages run again`,
        );
        continue;
      }
      const position = state.prefix.commitPosition;
      const carried = new Map(this.dispatcher.runningIn(partition).map((record) => [BigInt(record.offset), record]));
      const handledBefore = new Set([...state.prefix.settledAhead(), ...state.handledBefore].filter((offset) => offset >= position && !carried.has(offset)));
      this.states.set(partition, { prefix: new AckedPrefix(position), lastTracked: position - 1n, handledBefore, carried });
      // What settled while the group rebalanced is committed under the new generation.
      this.commits.mark(partition, position, () => this.commitFn());
      this.deps.logger.debug({ partition, position: position.toString(), running: carried.size }, 'kept through the rebalance with handlers running');
    }
  }

  private async shutDown(drainTimeoutMs: number): Promise<void> {
    clearInterval(this.stallTimer);
    const crash = drainTimeoutMs <= 0;
    if (crash) this.frozen = true;
    try {
      // No new batches meanwhile; fetched records stay unacknowledged for the next owner.
      this.consumer.pause([{ topic: this.topic }]);
    } catch {
      // not running (never joined)
    }
    const drained = await this.dispatcher.drain(crash ? 0 : drainTimeoutMs);
    if (!drained) this.deps.logger.warn({}, 'close abandoned running handlers; their messages will be redelivered');
    const commit = crash ? undefined : this.commitFn();
    if (commit) await this.commits.flush(commit);
    this.frozen = true;
    this.commits.clear();
    this.unblockAll();
    this.stopTimers();
    try {
      await this.consumer.disconnect();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'consumer disconnect failed');
    }
  }

  private run(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.partitions,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Starts the crashed consumer again (it disconnected itself), until it runs or we close. */
  private revive(delayMs = 1_000): void {
    setTimeout(() => {
      if (this.closing) return;
      this.consumer
        .connect()
        .then(() => this.run())
        .catch((error: unknown) => {
          this.deps.logger.warn({ err: error }, 'consumer restart failed; trying again');
          this.revive(Math.min(delayMs * 2, 10_000));
        });
    }, delayMs).unref();
  }

  /** A `latest`-starting group pins its start on join (see `pinLatestStart`). */
  private pinStart(epoch: number): Promise<void> {
    return pinLatestStart({
      admin: this.deps.admin,
      groupId: this.deps.groupId,
      topic: this.topic,
      logger: this.deps.logger,
      assigned: () => this.assigned,
      current: () => epoch === this.epoch && !this.closing,
      commit: async (offsets) => {
        await this.consumer.commitOffsets(offsets);
        this.remember(offsets);
      },
    });
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.closing || batch.messages.length === 0) return;
    if (this.released) return this.awaitRejoin(payload);
    this.payload = payload;
    const { partition } = batch;
    const epoch = this.epoch;
    let state = this.states.get(partition);
    if (!state) {
      const handledBefore = (await this.handledBefore).get(partition) ?? new Set<bigint>();
      if (!this.live(epoch) || !payload.isRunning()) return;
      const first = BigInt(batch.messages[0]!.offset);
      state = { prefix: new AckedPrefix(first), lastTracked: first - 1n, handledBefore };
      this.states.set(partition, state);
    }
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset <= state.lastTracked) continue; // fetched twice (kafkajs refetch): handed out already
      if (state.handledBefore.delete(offset)) {
        // Handled by the previous owner past its commit: settled here, not run twice.
        if (!this.live(epoch)) return;
        state.prefix.track(offset);
        state.lastTracked = offset;
        this.settleOffset(partition, state, offset);
        continue;
      }
      if (state.carried?.has(offset)) {
        // Still running since before the rebalance: tracked here, settled when it ends.
        if (!this.live(epoch)) return;
        state.prefix.track(offset);
        state.lastTracked = offset;
        continue;
      }
      for (;;) {
        // Not resolved when we stop here: the next owner (maybe us) reads the rest again.
        if (!this.live(epoch) || !payload.isRunning()) return;
        if (this.membershipError !== undefined) throw this.membershipError;
        if (state.prefix.outstanding >= this.deps.config.maxOutstandingPerPartition) {
          await this.waitForOldestToSettle(state);
          continue;
        }
        if (this.dispatcher.capacity > 0) break;
        await this.waitForRoom();
      }
      state.prefix.track(offset);
      state.lastTracked = offset;
      this.dispatcher.push({
        epoch,
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8') ?? '',
        value: message.value ?? emptyValue,
        attempt: 1,
        bytes: undefined,
      });
    }
    payload.resolveOffset(batch.lastOffset());
  }

  /**
   * This member let go (another subscription of the same group in this process rejoined)
   * but kafkajs does not know yet: find out with a heartbeat and rejoin, rather than
   * fetching the same records again and again meanwhile.
   */
  private async awaitRejoin(payload: EachBatchPayload): Promise<void> {
    try {
      await payload.heartbeat();
    } catch (error) {
      if (isMembershipError(error)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  private live(epoch: number): boolean {
    return epoch === this.epoch && !this.released && !this.closing;
  }

  /** Blocks the batch (and so kafkajs's fetching) until the dispatcher has room; heartbeats meanwhile. */
  private async waitForRoom(): Promise<void> {
    let unblock!: () => void;
    const unblocked = new Promise<void>((resolve) => (unblock = resolve));
    this.blocked.add(unblock);
    this.startTimers();
    try {
      await Promise.race([this.dispatcher.whenReady(), unblocked]);
    } finally {
      this.blocked.delete(unblock);
    }
  }

  /** Blocks this partition's batch until its settled prefix moves (or the batch must end); heartbeats meanwhile. */
  private async waitForOldestToSettle(state: PartitionState): Promise<void> {
    let unblock!: () => void;
    const unblocked = new Promise<void>((resolve) => (unblock = resolve));
    this.blocked.add(unblock);
    state.wakeWhenSettled = unblock;
    this.startTimers();
    try {
      await unblocked;
    } finally {
      state.wakeWhenSettled = undefined;
      this.blocked.delete(unblock);
    }
  }

  private unblockAll(): void {
    for (const unblock of this.blocked) unblock();
    this.blocked.clear();
  }

  private settle(record: KafkaRecord): void {
    if (this.frozen) return;
    const state = this.states.get(record.partition);
    if (!state) return;
    const offset = BigInt(record.offset);
    if (record.epoch !== this.epoch) {
      // Only a handler that ran on through the rebalance that kept its partition here.
      if (state.carried?.get(offset) !== record) return;
      state.carried.delete(offset);
      if (offset > state.lastTracked) {
        // Not fetched again yet: settled without running when it is.
        state.handledBefore.add(offset);
        return;
      }
    }
    this.settleOffset(record.partition, state, offset);
  }

  /**
   * Settles one offset and schedules a commit, also when the position did not move: the
   * commit's metadata then records the offsets settled ahead of it (see settled-ahead.ts).
   */
  private settleOffset(partition: number, state: PartitionState, offset: bigint): void {
    if (this.frozen) return;
    if (state.prefix.settle(offset) !== undefined) state.wakeWhenSettled?.();
    this.commits.mark(partition, state.prefix.commitPosition, () => this.commitFn());
  }

  /** What the group's committed offsets say was handled ahead of them, per partition (empty when that cannot be read in time). */
  private async fetchHandledBefore(): Promise<Map<number, Set<bigint>>> {
    const handled = new Map<number, Set<bigint>>();
    let timer: NodeJS.Timeout | undefined;
    try {
      const fetched = (async () => {
        const admin = await this.deps.admin();
        return admin.fetchOffsets({ groupId: this.deps.groupId, topics: [this.topic] });
      })();
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), settledAheadFetchMs)));
      const offsets = await Promise.race([fetched, timeout]);
      if (!offsets) {
        fetched.catch(() => undefined);
        this.deps.logger.warn(
          { topic: this.topic },
          `committed offsets not read within ${settledAheadFetchMs} ms; messages handled past the last commit may run again`,
        );
        return handled;
      }
      for (const { partition, offset, metadata } of offsets.find((t) => t.topic === this.topic)?.partitions ?? []) {
        if (Number(offset) < 0) continue;
        const ahead = decodeSettledAhead(BigInt(offset), metadata);
        if (ahead.size > 0) handled.set(partition, ahead);
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, topic: this.topic }, 'committed offsets could not be read; messages handled past the last commit may run again');
    } finally {
      clearTimeout(timer);
    }
    return handled;
  }

  /**
   * How to commit now, under the generation the records came in, or undefined when that is
   * not allowed any more. `whileReleasing`: during the hand-over, while the group (preparing
   * the rebalance) still accepts commits of this generation.
   */
  private commitFn(whileReleasing = false): CommitFn | undefined {
    const payload = this.payload;
    if (this.frozen || !payload || (this.released && !whileReleasing)) return undefined;
    return async (partitions) => {
      await payload.commitOffsetsIfNecessary({
        topics: [
          {
            topic: this.topic,
            // kafkajs passes `metadata` through to OffsetCommit (its Offsets type omits it).
            partitions: partitions.map(({ partition, offset }) => ({ partition, offset, metadata: this.settledAheadMetadata(partition, BigInt(offset)) })),
          },
        ],
      });
      this.remember(partitions);
    };
  }

  private remember(committed: ReadonlyArray<{ partition: number; offset: string }>): void {
    if (this.ephemeral) for (const { partition, offset } of committed) this.positions.set(partition, offset);
  }

  /**
   * An ephemeral group rejoined (after a stall, a crash of its kafkajs consumer, a broker
   * restart): read on from where this member committed, not from the group's committed
   * offsets. They are the same — unless the group was deleted meanwhile (swept as dead while
   * this member was away long enough), which would start it at `latest` and lose what was
   * published in between: the replies its callers wait for. kafkajs applies a seek made here
   * before its first fetch of the generation.
   */
  private resumeOwnPositions(): void {
    if (!this.ephemeral || this.positions.size === 0) return;
    for (const partition of this.assigned) {
      const offset = this.positions.get(partition);
      if (offset !== undefined) this.consumer.seek({ topic: this.topic, partition, offset });
    }
  }

  private settledAheadMetadata(partition: number, position: bigint): string | null {
    const state = this.states.get(partition);
    if (!state) return null;
    const handled = [...state.prefix.settledAhead(), ...state.handledBefore].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return encodeSettledAhead(position, handled);
  }

  /**
   * Whether this member still holds its partitions: not when it knows its generation is over,
   * nor when its own process stalled past the session (SIGSTOP, a long GC) — checked on the
   * clock at once on waking, before any timer of ours has run.
   */
  private holdsSession(): boolean {
    if (this.lostEpoch === this.epoch) return false;
    const bound = this.deps.config.sessionTimeoutMs * 0.8;
    const now = Date.now();
    if (now - this.lastTick > bound) {
      this.sessionLost(undefined, `this process was stalled ${now - this.lastTick} ms, past the session`);
      return false;
    }
    // The coordinator expires a member it has not heard from for the session timeout and gives
    // its partitions to others, whatever this member believes: a broker restart or a crashed
    // kafkajs consumer (which rejoins as a new member) must not leave handlers running here
    // while the next owner starts the same keys. That holds while it lets go of them, too:
    // kafkajs crashing in a broker outage sends LeaveGroup, and the handlers it waits for
    // must not outlive the session (the fault harness saw 40 keys on two members so). So do
    // handlers kept running through a rebalance — except while the coordinator holds this
    // member's JoinGroup, which keeps it in the group.
    const holding = !this.released || this.releasing !== undefined || (this.states.size > 0 && !this.joinSocket);
    if (now - this.lastHeartbeatAt > bound && holding) {
      this.sessionLost(undefined, `no heartbeat answered for ${now - this.lastHeartbeatAt} ms, past the session`);
      return false;
    }
    return true;
  }

  /** Our generation is over (we know it, or must assume it): no record of it starts or settles here any more. */
  private sessionLost(error: unknown, reason: string): void {
    if (this.lostEpoch === this.epoch) return;
    // Let go of the generation already: only partitions kept running through the rebalance remain.
    const letGo = this.released && !this.releasing;
    if (letGo && this.states.size === 0) return;
    const partitions = letGo ? [...this.states.keys()] : this.assigned;
    this.lostEpoch = this.epoch;
    this.deps.logger.warn({ err: error, epoch: this.epoch, partitions }, `${reason}; stopping its partitions at once`);
    for (const partition of partitions) this.dispatcher.lose(partition, reason);
    this.commits.clear();
    // Known from our own clock (a stall, heartbeats unanswered), the loss must still read to
    // kafkajs as the coordinator's "unknown member": it then rejoins as a new member at once.
    // A plain error would only be retried (the same batch, again and again) until kafkajs
    // crashes and restarts seconds later, its groups empty meanwhile.
    this.membershipError ??= error ?? unknownMember(reason);
    this.unblockAll();
  }

  private watchForStalls(): void {
    const every = Math.max(50, Math.floor(this.deps.config.heartbeatIntervalMs / 2));
    this.stallTimer = setInterval(() => {
      this.checkMembership(false);
      if (!this.holdsSession()) return; // latches lostEpoch when we just woke up
      this.lastTick = Date.now();
    }, every);
    this.stallTimer.unref();
  }

  /**
   * kafkajs can go on fetching without being a member of the group. When its rejoin after an
   * "unknown member" fails (the broker is away: a process woken from a pause during a broker
   * restart), its runner has already dropped the member id and retries by fetching again, not
   * by joining; with no member id its heartbeats do nothing, so no error ever comes, and the
   * consumer reads its old partitions' records without owning them, silently, for good (the
   * fault harness found a worker whose replies never arrived again). A consumer that fetches
   * with no heartbeat answered for a whole session is such a member (the coordinator evicted
   * it by then in any case); one that neither joined nor heartbeated for a rebalance timeout
   * and a session is stuck in some other way. Either way the kafkajs consumer is stopped and
   * run again, which joins the group as a new member.
   */
  private checkMembership(fetched: boolean): void {
    if (this.closing || this.restarting || !this.joinedOnce) return;
    const { sessionTimeoutMs, rebalanceTimeoutMs } = this.deps.config;
    const silentMs = Date.now() - this.lastHeartbeatAt;
    if (silentMs <= (fetched ? sessionTimeoutMs : rebalanceTimeoutMs + sessionTimeoutMs)) return;
    const state = fetched ? 'fetches' : 'neither joined nor heartbeated';
    this.sessionLost(undefined, `no heartbeat answered for ${silentMs} ms, past the session`);
    this.reportError(
      'warn',
      'consumer-failed',
      `kafka consumer ${state} with no heartbeat answered for ${silentMs} ms: not a group member any more; restarting it`,
    );
    this.lastHeartbeatAt = Date.now(); // one restart per silence
    this.restarting = this.consumer
      .stop()
      .then(() => (this.closing ? undefined : this.run()))
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'consumer restart failed; trying again');
        this.revive();
      })
      .finally(() => (this.restarting = undefined));
  }

  /**
   * Heartbeats while a batch waits (for room, or for its partition's oldest message) or the
   * member lets go. The timer stops itself at its first tick with neither, never from a
   * waiter's exit: with a backlog, a handler ending every few milliseconds lets every waiter
   * out and most of them straight back in, and a timer stopped and restarted on each of
   * those never reached its first tick — a member working through a large fetched batch sent
   * no heartbeat at all, lost its session after 0.8 of it, and did so again after each rejoin.
   */
  private startTimers(): void {
    if (this.heartbeatTimer) return;
    const every = Math.max(50, Math.floor(this.deps.config.heartbeatIntervalMs / 3));
    this.heartbeatTimer = setInterval(() => {
      if (this.blocked.size === 0 && !this.releasing) return this.stopTimers();
      void this.heartbeat();
    }, every);
  }

  private stopTimers(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /**
   * kafkajs heartbeats between batches; while a batch is blocked on a full dispatcher or the
   * member holds its JoinGroup for running handlers, this keeps the session alive. A
   * heartbeat that reports a rebalance releases blocked batches, so kafkajs goes to rejoin.
   */
  private reportError(
    level: 'warn' | 'error',
    kind: 'settle-failed' | 'consumer-failed' | 'subscription-closed' | 'lease-lost' | 'heartbeat-failed',
    message: string,
    error?: unknown,
  ): void {
    reportError(this.deps.events, this.deps.logger, level, {
      kind,
      transport: 'kafka',
      topic: this.topic,
      group: this.deps.groupId,
      message,
      ...(error !== undefined ? { error } : {}),
    });
  }

  private async heartbeat(): Promise<void> {
    const payload = this.payload;
    if (!payload) return;
    if (!payload.isRunning()) return this.unblockAll(); // kafkajs is stopping the consumer
    try {
      await payload.heartbeat();
    } catch (error) {
      // Answered all the same: during a rebalance the coordinator keeps the session alive.
      if ((error as { type?: string } | null)?.type === 'REBALANCE_IN_PROGRESS') this.lastHeartbeatAt = Date.now();
      if (isMembershipError(error) && !this.releasing) {
        if (isGenerationOver(error)) this.sessionLost(error, 'heartbeat refused: this member is no longer in the group');
        this.membershipError = error;
        this.unblockAll();
      } else {
        this.reportError('warn', 'heartbeat-failed', 'group heartbeat failed; the session may time out', error);
      }
    }
  }
}

/** kafkajs's own error for a member the coordinator does not know (kafkajs exports its errors on the default export only). */
function unknownMember(reason: string): Error {
  return new kafkajs.KafkaJSProtocolError(Object.assign(new Error(reason), { type: 'UNKNOWN_MEMBER_ID', code: 25, retriable: false }));
}
