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
import {
  KeyedDispatcher,
  PartitionBalancer,
  reportError,
  sleep,
  SoleMemberLeaseStore,
  systemClock,
  type DispatcherBackend,
  type InboundRecord,
  type LeaseStore,
  type Settlement,
} from '@a2a-bus/core/adapter';
import type { ConsumeCallback, Consumer, ConsumerMessages, FetchMessages, JsMsg } from '@nats-io/jetstream';
import { nuid, type Subscription as NatsSub } from '@nats-io/transport-node';
import type { NatsClients } from './connection.js';
import { ensureDurableConsumer } from './durable-consumer.js';
import { NatsLeaseStore, type Takeover } from './lease-store.js';
import { ephemeralInactiveThresholdMs, removeEphemeralGroup } from './ephemeral-consumers.js';
import type { NatsNames } from './names.js';
import type { ResolvedNatsOptions } from './options.js';
import { isNotFound, type TopicInfo } from './topics.js';

export const KEY_HEADER = 'A2A-Key';

/**
 * Most redeliveries a partition fetches and orders at once after a takeover (JetStream's
 * `max_ack_pending` of our consumers is 1 000 at least; a dead member held at most its own
 * in-flight limit, plus deliveries that went astray).
 */
const MAX_RECOVERED_AT_ONCE = 1_000;

/** How long past its expiry a pull request may stay open before the loop gives up on it (see `ended`). */
const FETCH_GRACE_MS = 2_000;
/**
 * How long an ephemeral group's pull requests wait on an idle partition. Its one member holds
 * every partition, ever, so no hand-over waits for an open pull, and close cuts them: an idle
 * agent's reply, control and registry readers so expire a pull per partition every 10 s, not
 * every second.
 */
const EPHEMERAL_PULL_EXPIRES_MS = 10_000;

/** JetStream's acknowledgement payloads, as `JsMsg` sends them. A nak on hand-back is sent as a request: the server answers once it has processed it. */
const ACK = new TextEncoder().encode('+ACK');
const TERM = new TextEncoder().encode('+TERM');
const WORKING = new TextEncoder().encode('+WPI');
const NAK = new TextEncoder().encode('-NAK');
/** How long a hand-back waits for the server to confirm its naks (the server away: those come back after AckWait). */
const HAND_BACK_CONFIRM_MS = 2_000;

/**
 * The delivery sequence a release of the worker's partition records: every delivery up to it
 * was received here (then acked, or handed back) or got back. The next owner waits for
 * anything delivered after it, which would otherwise come back after what it pulls first.
 */
function deliveredInFull(worker: PartitionWorker): number | undefined {
  return worker.unaccounted !== undefined ? worker.unaccounted - 1 : worker.lastDelivery;
}

/** The subject a message's acks go to: `JsMsgImpl.reply`, which the `JsMsg` interface does not declare. */
function ackSubject(message: JsMsg): string | undefined {
  const reply = (message as JsMsg & { readonly reply?: unknown }).reply;
  return typeof reply === 'string' && reply.length > 0 ? reply : undefined;
}

/**
 * A fetched message as the dispatcher sees it. `ackTo` is the newest delivery's ack subject:
 * the record does not keep the `JsMsg`, whose bytes are a slice of the socket read they came
 * in, and a running handler has the decoded envelope instead (see `InboundRecord.value`).
 */
export interface NatsRecord extends InboundRecord {
  readonly seq: number;
  ackTo: string | undefined;
  delivery: number;
}

/** A partition this member owns: its pull loop and the messages it holds unacked. */
interface PartitionWorker {
  readonly partition: number;
  stopping: boolean;
  fetch: ConsumerMessages | undefined;
  loop: Promise<void>;
  readonly held: Map<number, NatsRecord>;
  consumer?: Consumer;
  /**
   * The consumer's delivery sequence as far as this worker saw it: read before its first pull,
   * then the highest of what it received. Undefined when unknown (pulls then end by expiring).
   */
  lastDelivery?: number;
  /**
   * The first delivery sequence this worker neither received nor got back (a delivery that went
   * to an ended pull the server kept open): a release records the sequence before it, so the
   * next owner waits for everything delivered after it (see `deliveredInFull`).
   */
  unaccounted?: number;
  /** Resolves when the open pull was ended and everything delivered for it is held (see endPull). */
  ending?: Promise<void>;
  /** The hand-back of what the worker held: one per worker, awaited by a revoke and a close alike. */
  handingBack?: Promise<void>;
  /**
   * Deliveries that went to a pull request nobody listens to any more (a gap in the delivery
   * sequence: a pull sent again on reconnect after its fetch had given up, or an ended pull the
   * server kept open) and are not back yet. While there are any, what arrives is parked, not
   * dispatched (see recoverLost).
   */
  missing: number;
  /** When the latest gap was seen: those deliveries come back AckWait after it. */
  missingSince: number;
  readonly parked: NatsRecord[];
  /** The lease was lost: whatever is in flight is the next owner's. */
  lost: boolean;
  /** The ack subject of the last message this member settled (see accountForPending). */
  lastSettledTo?: string;
  /** When this member last received a message of the partition or kept its messages alive (`working()`). */
  activeAt: number;
  /** Pulls in a row that ended empty with nobody waiting for capacity: each doubles the next one's expiry (see `pullExpiry`). */
  idlePulls: number;
}

export interface SubscriptionContext {
  readonly clients: NatsClients;
  readonly names: NatsNames;
  readonly options: ResolvedNatsOptions;
  readonly logger: Logger;
  readonly events: Required<Instrumentation>;
  readonly publishDeadLetter: (topic: string, envelope: EnvelopeInput, group: string) => Promise<void>;
  readonly onClosed: (subscription: NatsSubscription) => void;
}

/**
 * One member of a group on a topic. Each partition it owns (by lease) is read by its own
 * pull loop from the group's durable consumer for that partition; records go through the
 * keyed dispatcher. Fetches are sized by the free in-flight slots, so nothing is buffered
 * beyond `maxInFlight`.
 */
export class NatsSubscription implements Subscription {
  readonly topic: string;
  readonly group: string;
  private readonly member = nuid.next();
  private readonly workers = new Map<number, PartitionWorker>();
  /** Partitions lost (lease lapsed): when we last kept their messages alive, for when they come back. */
  private readonly quietSince = new Map<number, number>();
  private readonly consumers = new Map<number, Consumer>();
  private readonly dispatcher: KeyedDispatcher<NatsRecord>;
  private readonly balancer: PartitionBalancer;
  private readonly store: LeaseStore & {
    consumeTakeover?(partition: number): Takeover | undefined;
    consumeHandover?(partition: number): number | undefined;
    noteHandedBack?(partition: number, delivered: number | undefined): void;
  };
  private readonly maxInFlight: number;
  private readonly logger: Logger;
  private readonly context: SubscriptionContext;
  private readonly info: TopicInfo;
  private readonly subscribeOptions: SubscribeOptions;
  private nudges: NatsSub | undefined;
  private reserved = 0;
  private settlements: Array<{ ackTo: string | undefined; ack: boolean }> = [];
  private capacityWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;
  private stopped = false;
  /** An ephemeral group has one member, ever: its leases live in memory, its consumers expire when idle and are deleted at close. */
  private readonly ephemeral: boolean;
  /** How long a pull request of the pull loop waits when the partition's last pull had messages. */
  private readonly pullExpiresMs: number;
  /** The longest a pull request of the pull loop waits on a partition idle for a while. */
  private readonly idlePullExpiresMs: number;

  constructor(context: SubscriptionContext, info: TopicInfo, topic: string, handler: MessageHandler, options: SubscribeOptions) {
    this.context = context;
    this.info = info;
    this.topic = topic;
    this.group = options.group;
    this.ephemeral = options.ephemeral ?? false;
    this.pullExpiresMs = this.ephemeral ? Math.max(context.options.fetchExpiresMs, EPHEMERAL_PULL_EXPIRES_MS) : context.options.fetchExpiresMs;
    this.idlePullExpiresMs = Math.max(this.pullExpiresMs, Math.floor(context.options.leaseTtlMs / 2));
    this.subscribeOptions = options;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.logger = context.logger.child({ topic, group: options.group, member: this.member });
    const { clients, names, options: transportOptions } = context;
    const backend: DispatcherBackend<NatsRecord> = {
      settle: (record, settlement) => this.settle(record, settlement),
      publishDeadLetter: (deadLetterTopic, envelope) => context.publishDeadLetter(deadLetterTopic, envelope, options.group),
      keepAlive: () => this.keepAlive(),
      // Checked before each record starts: a member woken from a pause past its lease stops
      // at once, before the balancer's next round, instead of starting work someone else owns.
      // The same bound the balancer fences on, so it costs no partition a round would keep.
      holds: (partition) => this.balancer.holds(partition),
    };
    this.dispatcher = new KeyedDispatcher<NatsRecord>({
      transport: 'nats',
      topic,
      group: options.group,
      handler,
      maxInFlight: this.maxInFlight,
      maxInFlightBytes: options.maxInFlightBytes,
      maxRecordBytes: transportOptions.maxEnvelopeBytes,
      retry: { ...defaultRetryPolicy, ...options.retry },
      deadLetterTopic: options.deadLetterTopic ?? `${topic}.dlq`,
      onDeadLetter: options.onDeadLetter,
      backend,
      events: context.events,
      logger: this.logger,
      clock: systemClock,
      keepAliveMs: Math.max(100, Math.floor(transportOptions.ackWaitMs / 3)),
    });
    // An ephemeral group's one member holds every partition: its leases are kept in memory,
    // not written to the lease stream (3 of an idle agent's 4 groups renewed 8 leases each
    // every 1.7 s: most of its CPU).
    this.store = this.ephemeral
      ? new SoleMemberLeaseStore(this.member)
      : new NatsLeaseStore({
          js: clients.js,
          jsm: clients.leaseJsm,
          stream: names.leaseStream,
          base: names.leaseBase(topic, options.group),
          clock: systemClock,
          onReleased: () => this.nudgeOthers(),
        });
    this.balancer = new PartitionBalancer({
      store: this.store,
      member: this.member,
      partitions: info.partitions,
      leaseTtlMs: transportOptions.leaseTtlMs,
      intervalMs: Math.max(100, Math.floor(transportOptions.leaseTtlMs / 3)),
      onAssigned: (partition) => this.assign(partition),
      onRevoked: (partition) => this.revoke(partition),
      onLost: (partition, reason) => this.lose(partition, reason),
      logger: this.logger,
      clock: systemClock,
      onError: (event) => context.events.onError({ ...event, transport: 'nats', topic, group: options.group, member: this.member }),
    });
  }

  /** Creates the group's durable consumers (so it keeps messages published from now on) and joins. */
  async start(): Promise<void> {
    const partitions = Array.from({ length: this.info.partitions }, (_, p) => p);
    await Promise.all(partitions.map((p) => this.ensureConsumer(p)));
    const { nc } = this.context.clients;
    this.nudges = nc.subscribe(this.context.names.nudge(this.topic, this.group), {
      callback: (error) => {
        if (error || this.stopped) return;
        // A round may be running with stale membership: run one more after it.
        void this.balancer.nudge().then(() => this.balancer.nudge());
      },
    });
    // A subscription the server refuses (subject permissions) is closed by the client on the
    // server's -ERR, which arrives before the flush's PONG: fail the subscribe with it now.
    await nc.flush();
    if (this.nudges.isClosed()) {
      const refusal = await this.nudges.closed;
      throw refusal instanceof Error ? refusal : new Error(`subscription to ${this.context.names.nudge(this.topic, this.group)} was closed by the server`);
    }
    await this.balancer.start();
    this.nudgeOthers();
  }

  assignedPartitions(): readonly number[] {
    return this.balancer.assigned;
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.drainTimeoutMs ?? 30_000).finally(() => this.context.onClosed(this));
    return this.closing;
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    this.stopped = true;
    const workers = [...this.workers.values()];
    for (const worker of workers) worker.stopping = true;
    const abandon = drainTimeoutMs <= 0;
    // An ephemeral group has no other member to hand a message to: its open pull requests
    // are cut now (what arrives meanwhile dies with the group). A durable group's are ended
    // without losing what is already on its way (see endPull).
    if (abandon || this.ephemeral) for (const worker of workers) worker.fetch?.stop();
    else for (const worker of workers) this.endPull(worker);
    this.releaseCapacityWaiters();
    const draining = this.dispatcher.drain(drainTimeoutMs);
    let handedOver!: () => void;
    const handOver = new Promise<void>((resolve) => (handedOver = resolve));
    // Leases stay renewed while handlers drain (they may take longer than a lease lasts) and
    // until what was held went back.
    const leasesKept = this.balancer.stop({ release: false, renewUntil: Promise.all([draining, handOver]) });
    try {
      const drained = await draining;
      // Hand back what was held (queued, waiting for a retry, abandoned) in sequence order, so
      // the next owner gets it first and at once instead of after AckWait. Each partition as
      // soon as its own pull has ended: one still recovering strays must not hold up another's
      // hand-back, whose messages nothing keeps alive meanwhile (one that expired would be
      // redelivered ahead of those handed back).
      await Promise.all(
        workers.map(async (worker) => {
          if (!abandon) await this.pullEnded(worker);
          await this.handBackOnce(worker);
        }),
      );
      for (const worker of workers) if (!worker.lost) this.store.noteHandedBack?.(worker.partition, deliveredInFull(worker));
      this.workers.clear();
      if (!drained) this.logger.warn({ drainTimeoutMs }, 'handlers still running at close were abandoned; their messages were handed back');
      await this.context.clients.nc.flush().catch(() => undefined);
    } finally {
      handedOver();
      await leasesKept;
    }
    this.nudges?.unsubscribe();
    await Promise.all(
      this.balancer.assigned.map((partition) =>
        this.store.release(partition, this.member).catch((error: unknown) => this.logger.warn({ err: error, partition }, 'lease release failed')),
      ),
    );
    await this.store.leave(this.member).catch((error: unknown) => this.logger.warn({ err: error }, 'leave failed'));
    if (this.ephemeral) {
      const { clients, names } = this.context;
      await removeEphemeralGroup(clients.jsm, names, this.info.stream, this.group, this.info.partitions).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not remove the ephemeral group; its consumers expire when idle');
      });
      return;
    }
    this.nudgeOthers();
  }

  private assign(partition: number): void {
    if (this.stopped) return;
    // Lost earlier (we stalled) and ours again: our old deliveries were never handed back,
    // so wait for them like for a dead owner's, or later messages of their keys overtake them.
    const lostBefore = this.dispatcher.isLost(partition);
    this.dispatcher.assign(partition);
    const worker: PartitionWorker = {
      partition,
      stopping: false,
      fetch: undefined,
      loop: Promise.resolve(),
      held: new Map(),
      missing: 0,
      missingSince: 0,
      parked: [],
      lost: false,
      activeAt: Date.now(),
      idlePulls: 0,
    };
    this.workers.set(partition, worker);
    // Lost earlier: our own stale deliveries were kept alive until we last touched them.
    const quietAt = this.quietSince.get(partition);
    this.quietSince.delete(partition);
    const takenOver = this.store.consumeTakeover?.(partition) ?? (lostBefore ? { holderQuietAt: quietAt ?? Date.now() } : undefined);
    const handedOverAt = this.store.consumeHandover?.(partition);
    // Until the pull loop has seen where deliveries stand, this is all a release could record:
    // from a dead owner, nothing is known to be in; from a clean release, what it recorded.
    if (takenOver) worker.unaccounted = 0;
    else if (handedOverAt !== undefined) worker.unaccounted = handedOverAt + 1;
    worker.loop = this.pullLoop(worker, takenOver, handedOverAt).catch((error: unknown) => {
      reportError(this.context.events, this.logger, 'error', {
        kind: 'consumer-failed',
        transport: 'nats',
        topic: this.topic,
        group: this.group,
        partition,
        message: 'pull loop failed; the partition is not read until it is reassigned',
        error,
      });
    });
  }

  /**
   * Stops the partition's pull loop (endPull ends its open pull request), lets its running
   * handlers finish, then naks what is still held, in order, before the lease is released;
   * the release records how far deliveries were seen in full (`deliveredInFull`).
   */
  private async revoke(partition: number): Promise<void> {
    const worker = this.workers.get(partition);
    if (!worker) return;
    worker.stopping = true;
    // A lost partition's deliveries are the next owner's: nothing to end gracefully or fetch again.
    if (!worker.lost) this.endPull(worker);
    this.releaseCapacityWaiters();
    if (this.stopped) return; // close() takes care of it
    await Promise.all([this.pullEnded(worker), this.dispatcher.revoke(partition)]);
    // A close that started meanwhile hands the same worker back: both wait for one hand-back.
    await this.handBackOnce(worker);
    // A lost partition is not released (its lease lapsed): nothing to record.
    if (!worker.lost) this.store.noteHandedBack?.(partition, deliveredInFull(worker));
    if (this.workers.get(partition) === worker) this.workers.delete(partition);
    await this.context.clients.nc.flush().catch(() => undefined);
  }

  /**
   * The lease lapsed while we held the partition (we stalled): another member may own it.
   * Stop fetching and stop its handlers at once; keep nothing to hand back — our deliveries
   * are the new owner's now (AckWait brings them back to it), and a nak of ours could only
   * disturb its order.
   */
  private lose(partition: number, reason: string): void {
    const worker = this.workers.get(partition);
    if (worker) {
      this.quietSince.set(partition, worker.activeAt);
      worker.stopping = true;
      worker.lost = true;
      worker.fetch?.stop();
      worker.held.clear();
      worker.parked.length = 0;
    }
    this.dispatcher.lose(partition, reason);
    this.releaseCapacityWaiters();
  }

  /**
   * Ends the partition's open pull request now instead of letting it expire (up to
   * `fetchExpiresMs`): its inbox is drained — UNSUB, then a flush, with messages already on
   * their way still delivered (kept, to be handed back in order) — and the server drops a
   * pull request nobody listens to any more. A message the server sent in the instant its
   * UNSUB was processed reaches nobody; the consumer's delivery sequence tells. Then, before
   * anything is handed back, those are fetched again once AckWait brought them back (with a
   * pull left to expire), so every message delivered is held here and handed back in sequence
   * order (JetStream puts expired messages ahead of nak'd ones: handing back first would let
   * a later message of a key overtake an earlier one). Without the sequence, the pull is left
   * to expire as before. `worker.ending` resolves when everything delivered is held.
   */
  private endPull(worker: PartitionWorker): void {
    const fetch = worker.fetch;
    const inbox = (fetch as unknown as { sub?: { drain(): Promise<void>; isClosed(): boolean } } | undefined)?.sub;
    const { consumer } = worker;
    // Recovering lost deliveries: the pull loop fetches them before it ends, and revoke waits for it.
    if (worker.missing > 0) return;
    if (!fetch || !consumer || worker.lastDelivery === undefined || typeof inbox?.drain !== 'function' || worker.ending) return;
    worker.ending = (async () => {
      // Bounded like the pull itself: a drain's flush waits for a reconnect while the server is away.
      const { fetchExpiresMs } = this.context.options;
      if (!inbox.isClosed()) await Promise.race([inbox.drain().catch(() => undefined), sleep(systemClock, fetchExpiresMs)]);
      fetch.stop();
      const info = await consumer.info().catch((error: unknown) => (isNotFound(error) ? null : undefined));
      // Deleted with its stream (deleteTopic): nothing delivered can come back.
      if (info === null) return;
      // Unknown (the server away): assume something went astray, and wait for it.
      const delivered = info?.delivered.consumer_seq ?? Number.POSITIVE_INFINITY;
      const seen = worker.lastDelivery!;
      const lost = delivered - seen;
      if (lost <= 0) return;
      this.logger.debug({ partition: worker.partition, delivered, seen }, 'deliveries went to the ended pull; fetching them again after AckWait');
      // What the fetch below brings back follows the deliveries counted here: not a new gap.
      if (Number.isFinite(delivered)) worker.lastDelivery = delivered;
      await this.keepHeldAlive(worker, this.context.options.ackWaitMs + 200);
      // Lost meanwhile (the lease lapsed): what comes back is the next owner's.
      if (worker.lost) return;
      let back = 0;
      const options: FetchMessages & ConsumeCallback = {
        max_messages: Number.isFinite(lost) ? lost + worker.held.size : 1_000,
        expires: fetchExpiresMs,
        callback: (message) => {
          if (!worker.held.has(message.seq) && message.info.deliveryCount > 1) back += 1;
          this.receive(worker, message);
        },
      };
      const again = await consumer.fetch(options).catch(() => undefined);
      if (again) await this.keepingHeldAlive(worker, this.ended(again, fetchExpiresMs));
      // Not all back: the next owner waits for what is still out (see deliveredInFull). What is
      // out is what the consumer has pending and we do not hold (the lease is still ours):
      // counting what came back would take a hand-back or an older stray for one of these, and
      // a stray that went to our ended pull again (still open: pulls may outlive AckWait) would
      // pass unnoticed. Unknown (the server away): what did not come back by count.
      this.flushSettlements();
      await this.context.clients.nc.flush().catch(() => undefined);
      const after = await consumer.info().catch(() => undefined);
      const astray = after ? after.num_ack_pending - worker.held.size : lost - back;
      if (astray > 0) worker.unaccounted ??= seen + 1;
    })();
  }

  /**
   * When a pull request has ended, bounded: nats.js sends a fetch's pull again after a
   * reconnect and stops watching its heartbeats while disconnected, so a fetch caught in a
   * broker restart can stay open long past its expiry. Past its expiry + a grace it is
   * stopped; its error (if any) is the result, as from `closed()`.
   */
  private async ended(messages: ConsumerMessages, expiresMs: number): Promise<void | Error> {
    const boundMs = expiresMs + FETCH_GRACE_MS;
    const overdue = Symbol('overdue');
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([messages.closed(), new Promise<typeof overdue>((resolve) => (timer = setTimeout(() => resolve(overdue), boundMs)))]);
      if (result !== overdue) return result;
      messages.stop();
      return new Error(`pull request still open ${boundMs} ms after it was sent`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * When the worker's pull loop has ended and everything delivered to it is held. `ending` is
   * read after the loop: a revoke that came while a pull was being opened left the ending to
   * the loop (endPull had no pull to end yet).
   */
  private async pullEnded(worker: PartitionWorker): Promise<void> {
    await worker.loop;
    await worker.ending;
  }

  private handBackOnce(worker: PartitionWorker): Promise<void> {
    worker.handingBack ??= this.handBack(worker);
    return worker.handingBack;
  }

  /**
   * Naks what the worker still holds, in sequence order, and resolves once the server has
   * processed the naks. The server queues a consumer's acks and works them off on its own
   * (`pushAck`), so a flush does not tell that a nak was processed: the next owner, told by
   * the lease's release, could pull first and get a key's next new message ahead of the
   * earlier ones handed back. A nak sent as a request is answered once it was processed.
   */
  private async handBack(worker: PartitionWorker): Promise<void> {
    this.flushSettlements();
    await this.accountForPending(worker);
    const records = [...worker.held.values()].sort((a, b) => a.seq - b.seq);
    worker.held.clear();
    if (records.length === 0) return;
    const { nc } = this.context.clients;
    // Sent in order on one connection, processed in order: the redeliveries keep sequence order.
    const confirmations = await Promise.allSettled(
      records.map(({ ackTo, seq }) =>
        ackTo !== undefined
          ? nc.request(ackTo, NAK, { timeout: HAND_BACK_CONFIRM_MS })
          : Promise.reject(new Error(`message ${seq} has no ack subject to nak it on`)),
      ),
    );
    const refused = confirmations.filter((outcome) => outcome.status === 'rejected');
    // A nak not confirmed may still be on its way (sent after a reconnect) or lost: the next
    // owner waits from its delivery on (AckWait brings it back) instead of pulling past it.
    confirmations.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        const { delivery } = records[i]!;
        worker.unaccounted = Math.min(worker.unaccounted ?? delivery, delivery);
      }
    });
    if (refused.length > 0)
      this.logger.warn(
        { partition: worker.partition, handedBack: records.length, unconfirmed: refused.length, err: refused[0]!.reason },
        'the server did not confirm every nak of a hand-back; those messages come back after AckWait',
      );
  }

  /**
   * Before a hand-back, makes every message the partition's consumer has pending either held
   * here or known to be out, so the next owner gets each key's messages in order:
   * - Queued for redelivery and not pulled yet (an earlier owner's hand-back our pulls had no
   *   room for): the server redelivers in the order messages joined that queue, and a nak of
   *   ours would join it behind them, so they are fetched now and handed back with the rest.
   * - Dropped from that queue by the server: nats-server 2.9 takes the next redelivery off the
   *   queue for a pull request whose reply subject lost its interest (one we ended, see endPull,
   *   right after sending it) and drops it; it comes back only when its AckWait runs out. Such a
   *   message, or one delivered to a pull nobody reads, is pending but neither held nor fetched
   *   here: the release then records the ack floor, and the next owner waits for it.
   * The consumer info that counts them also clears the server's waiting list of our ended pull
   * requests, so none takes a nak of ours off the queue afterwards.
   */
  private async accountForPending(worker: PartitionWorker): Promise<void> {
    const { consumer } = worker;
    if (!consumer || worker.lost || this.ephemeral) return;
    const { nc } = this.context.clients;
    // The server works off a consumer's acks in order and answers one sent as a request once it
    // is processed: after this answer, the pending count no longer counts what we settled.
    const probe = worker.lastSettledTo ?? worker.held.values().next().value?.ackTo;
    if (probe !== undefined) await nc.request(probe, WORKING, { timeout: HAND_BACK_CONFIRM_MS }).catch(() => undefined);
    const before = await consumer.info().catch(() => undefined);
    if (!before) return; // the server away: the naks fail too, and what was held comes back after AckWait
    const out = before.num_ack_pending - worker.held.size;
    if (out <= 0) return;
    // A pull that is answered in full or expires (never one ended early): the queue comes first.
    const expires = 1_000;
    const options: FetchMessages & ConsumeCallback = {
      max_messages: Math.min(out, MAX_RECOVERED_AT_ONCE),
      expires,
      callback: (message) => this.receive(worker, message),
    };
    const again = await consumer.fetch(options).catch(() => undefined);
    if (again) await this.keepingHeldAlive(worker, this.ended(again, expires));
    if (worker.lost) return;
    const after = await consumer.info().catch(() => undefined);
    const missing = after ? after.num_ack_pending - worker.held.size : out;
    if (missing <= 0) return;
    const floor = after?.ack_floor.consumer_seq ?? before.ack_floor.consumer_seq;
    worker.unaccounted = Math.min(worker.unaccounted ?? Number.POSITIVE_INFINITY, floor + 1);
    this.logger.warn(
      { partition: worker.partition, missing, ackFloor: floor },
      'messages of the partition are out of reach until their AckWait runs out (dropped by the server or delivered to a pull nobody reads); the next owner waits for them',
    );
  }

  /**
   * `handedOverAt`: the partition came from a clean release that recorded the delivery
   * sequence its member had seen (see `LeaseRecord.delivered`).
   */
  private async pullLoop(worker: PartitionWorker, takenOver: Takeover | undefined, handedOverAt?: number): Promise<void> {
    const consumer = await this.consumerFor(worker);
    if (!consumer) return;
    if (takenOver) {
      // JetStream redelivers expired messages in the order they expired, not in sequence
      // order: fetch the dead owner's all at once (they come before anything new) and
      // dispatch them in sequence order, like deliveries that went astray (recoverLost).
      const pending = await this.awaitDeadOwnersMessages(worker, consumer, takenOver);
      // Revoked meanwhile: they are not ours to fetch (each fetch would count as a delivery).
      if (pending > 0 && !worker.stopping) {
        worker.missing = Math.min(pending, MAX_RECOVERED_AT_ONCE);
        worker.missingSince = 0; // due now
      }
    }
    worker.consumer = consumer;
    // Where deliveries stand before our first pull: endPull compares against it.
    const startedAt = await consumer.info().catch(() => undefined);
    worker.lastDelivery = startedAt?.delivered.consumer_seq;
    if (startedAt && takenOver) {
      // We hold nothing yet: whatever is pending is the dead owner's, or went to a pull of its
      // the server kept open. Until it is all back, a release makes the next owner wait from
      // the ack floor.
      const pending = startedAt.num_ack_pending;
      worker.unaccounted = pending > 0 ? startedAt.ack_floor.consumer_seq + 1 : undefined;
      if (pending > 0 && !worker.stopping) {
        worker.missing = Math.min(Math.max(worker.missing, pending), MAX_RECOVERED_AT_ONCE);
        worker.missingSince = 0; // due now: recoverLost still waits up to one more AckWait
      }
    } else if (startedAt && handedOverAt !== undefined) {
      const strays = startedAt.delivered.consumer_seq - handedOverAt;
      // Delivered after the last owner let go: to its ended pull request, which the server
      // kept open because something else listened on its inbox. They come back after AckWait;
      // what arrives before them waits (parked), or it would overtake them.
      if (strays <= 0) worker.unaccounted = undefined;
      else if (!worker.stopping) {
        worker.missing = Math.min(strays, MAX_RECOVERED_AT_ONCE);
        worker.missingSince = Date.now();
      }
    } else if (handedOverAt !== undefined && !worker.stopping) {
      // Where deliveries stand is unknown (the server did not answer): strays may be out. Wait
      // for them as for any (recoverLost counts again once AckWait has passed).
      worker.missing = this.maxInFlight;
      worker.missingSince = Date.now();
    }
    let failures = 0;
    let othersWaiting = false;
    while (!worker.stopping) {
      if (worker.missing > 0 || worker.parked.length > 0) {
        await this.recoverLost(worker, consumer);
        continue;
      }
      const batch = await this.reserve(worker);
      if (batch === 0) continue;
      let received = 0;
      const expires = this.pullExpiry(worker);
      try {
        // The callback form hands each message over as the socket delivers it (no async
        // iterator hop per message); `closed()` resolves when the pull request has ended.
        const options: FetchMessages & ConsumeCallback = {
          max_messages: batch,
          expires,
          callback: (message) => {
            received += 1;
            this.reserved -= 1;
            this.receive(worker, message);
          },
        };
        const messages = await consumer.fetch(options);
        worker.fetch = messages;
        if (worker.stopping) this.endPull(worker); // stopped while the pull was being opened
        const ended = await this.ended(messages, expires);
        if (ended instanceof Error) throw ended;
        failures = 0;
      } catch (error) {
        failures += 1;
        if (!worker.stopping) this.logger.warn({ err: error, partition: worker.partition }, 'fetch failed; retrying');
        await sleep(systemClock, Math.min(100 * 2 ** failures, 2_000));
      } finally {
        worker.fetch = undefined;
        this.reserved -= batch - received;
        othersWaiting = this.capacityWaiters.length > 0;
        this.releaseCapacityWaiters();
        worker.idlePulls = received === 0 && !othersWaiting ? worker.idlePulls + 1 : 0;
      }
      // An empty fetch gives way: with fewer slots than partitions (a small byte bound), an
      // idle partition re-reserving at once would starve one that has messages.
      if (received === 0 && othersWaiting) await new Promise((resolve) => setImmediate(resolve));
    }
    // Stopped with deliveries astray: get them back before anything is handed back. (A
    // takeover's pending ones not fetched yet stay where they are: `unaccounted` makes the
    // next owner wait for them.)
    if (worker.missing > 0 && worker.missingSince > 0 && !worker.lost) await this.recoverLost(worker, consumer);
    else worker.missing = 0;
  }

  /**
   * The next pull's expiry: `fetchExpiresMs` while the partition has messages, doubled by
   * each empty pull in a row up to half the lease TTL (an idle agent's capability group
   * pulled each of its 8 partitions every second; most of its idle CPU). A new message ends
   * an open pull at once, and a revoke or close ends it too (endPull), so only a stalled
   * member's pull waits out its expiry: at half the TTL it has expired before the stalled
   * member's lease can lapse (a renewal comes every third of it), so it takes nothing a next
   * owner would fetch. An empty pull while others waited for capacity starts again from
   * `fetchExpiresMs`: an idle partition holding slots longer would starve a busy one.
   */
  private pullExpiry(worker: PartitionWorker): number {
    if (worker.idlePulls === 0 || this.idlePullExpiresMs === this.pullExpiresMs) return this.pullExpiresMs;
    return Math.min(this.idlePullExpiresMs, this.pullExpiresMs * 2 ** Math.min(worker.idlePulls, 16));
  }

  private async consumerFor(worker: PartitionWorker): Promise<Consumer | undefined> {
    for (let failures = 0; !worker.stopping; failures += 1) {
      try {
        return await this.ensureConsumer(worker.partition);
      } catch (error) {
        this.logger.warn({ err: error, partition: worker.partition }, 'consumer lookup failed; retrying');
        await sleep(systemClock, Math.min(100 * 2 ** failures, 2_000));
      }
    }
    return undefined;
  }

  /**
   * The previous owner died holding messages: they come back only when their AckWait runs
   * out. Fetching before then would hand us later messages of the same keys first, so wait
   * until nothing is pending or AckWait has passed since the last thing that could have
   * restarted it: the last delivery (`last_active`), or the holder's last `working()` on
   * what it held, no later than when it went quiet. Its last delivery alone is not enough: a
   * message it had held for a while was kept alive past it, and a later message of the same
   * key, never delivered, would come first. Returns how many are still pending then.
   */
  private async awaitDeadOwnersMessages(worker: PartitionWorker, consumer: Consumer, takeover: Takeover): Promise<number> {
    const { ackWaitMs } = this.context.options;
    let until = Date.now() + ackWaitMs + 200;
    let pending = 0;
    do {
      const info = await consumer.info().catch(() => undefined);
      if (info) pending = info.num_ack_pending;
      if (info && pending === 0) return 0;
      const lastActive = Date.parse(String(info?.delivered?.last_active ?? ''));
      if (Number.isFinite(lastActive)) until = Math.min(until, Math.max(lastActive, takeover.holderQuietAt) + ackWaitMs + 200);
      if (Date.now() >= until) break;
      await sleep(systemClock, Math.min(100, until - Date.now()));
    } while (!worker.stopping);
    return pending;
  }

  /**
   * Waits for `work` (a fetch while recovering), telling JetStream meanwhile that we are still
   * on every message the worker holds: a pull may outlive AckWait, and what is parked or held
   * for the hand-back is no handler's, so nothing else keeps it alive. One that expired would
   * be redelivered, to a pull the server kept open perhaps, and overtaken.
   */
  private async keepingHeldAlive<T>(worker: PartitionWorker, work: Promise<T>): Promise<T> {
    const timer = setInterval(
      () => {
        if (worker.lost) return;
        worker.activeAt = Date.now();
        try {
          this.keepWorking(worker);
        } catch (error) {
          // The connection is closing or closed (a publish throws then): the fetch ends with it.
          this.logger.debug({ err: error, partition: worker.partition }, 'could not keep held messages alive');
        }
      },
      Math.max(100, Math.floor(this.context.options.ackWaitMs / 3)),
    );
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }

  /** Waits `ms`, telling JetStream meanwhile that we are still on every message the worker holds. */
  private async keepHeldAlive(worker: PartitionWorker, ms: number): Promise<void> {
    const until = Date.now() + ms;
    const every = Math.max(100, Math.floor(this.context.options.ackWaitMs / 3));
    while (!worker.lost && Date.now() < until) {
      worker.activeAt = Date.now();
      this.keepWorking(worker);
      await sleep(systemClock, Math.min(until - Date.now(), every));
    }
  }

  /**
   * Some deliveries went to a pull request nobody listens to (seen as a gap in the delivery
   * sequence): they come back only once their AckWait ran out, and dispatching what came
   * after them meanwhile would let a later message of a key overtake an earlier one. So what
   * arrives is parked (kept alive, not run); once AckWait has passed since the gap they are
   * first in line (JetStream redelivers before it delivers anything new): fetched, then
   * everything parked goes to the dispatcher in sequence order. Finished even when the
   * partition is being revoked, so the hand-back is in order; not when the lease was lost.
   */
  private async recoverLost(worker: PartitionWorker, consumer: Consumer): Promise<void> {
    const { ackWaitMs, fetchExpiresMs } = this.context.options;
    if (worker.missingSince > 0)
      this.logger.warn(
        { partition: worker.partition, missing: worker.missing },
        'deliveries went to a pull nobody listens to (a reconnect, or an ended pull the server kept open); holding what came after them until they are back',
      );
    // Parked messages are not the dispatcher's yet, and what a stopping worker holds waits to be
    // handed back: keep them alive here meanwhile (one that expired would be redelivered ahead
    // of the ones handed back).
    const until = worker.missingSince + ackWaitMs + 200;
    while (worker.missing > 0 && !worker.lost && Date.now() < until) {
      worker.activeAt = Date.now();
      this.keepWorking(worker);
      await sleep(systemClock, Math.min(until - Date.now(), Math.max(100, Math.floor(ackWaitMs / 3))));
    }
    if (worker.lost) return;
    // Fetch until every missing delivery is back. One whose AckWait started later (its holder
    // kept it alive with working() after the others, under load later than its lease record
    // says) comes back later: releasing the rest first would let a later message of its key
    // overtake it. Its AckWait began before this point, so one more AckWait bounds the wait.
    // Back by now: everything delivered before the gap was seen. Handed-back messages are
    // redelivered too, and come first (JetStream queues a nak'd message at once, an expired one
    // only when its AckWait ran out), so counting redeliveries would stop short of the strays.
    // What is out is what the consumer has pending and we do not hold (we own the partition).
    // Unknown (the server away): as many as the in-flight limit holds, until giveUpAt below.
    const info = await consumer.info().catch(() => undefined);
    worker.missing = info ? Math.min(Math.max(0, info.num_ack_pending - worker.held.size), MAX_RECOVERED_AT_ONCE) : Math.max(worker.missing, this.maxInFlight);
    // Counted by that: deliveries up to here are not a new gap when what follows arrives.
    if (info && worker.lastDelivery !== undefined) worker.lastDelivery = Math.max(worker.lastDelivery, info.delivered.consumer_seq);
    // A stray redelivered while the last owner's ended pull is still open goes to that pull
    // again: it comes back to us within AckWait of that pull's expiry at the latest (members of
    // a group share the settings, so our longest pull bounds theirs).
    const giveUpAt = Date.now() + Math.max(ackWaitMs, this.idlePullExpiresMs) + 200;
    while (worker.missing > 0 && !worker.lost && Date.now() < giveUpAt) {
      worker.activeAt = Date.now();
      this.keepWorking(worker);
      const expires = Math.max(1_000, Math.min(fetchExpiresMs, giveUpAt - Date.now()));
      const options: FetchMessages & ConsumeCallback = {
        max_messages: worker.missing,
        expires,
        callback: (message) => this.receive(worker, message),
      };
      const again = await consumer.fetch(options).catch(() => undefined);
      if (again) await this.keepingHeldAlive(worker, this.ended(again, expires));
      else await sleep(systemClock, 100);
    }
    if (worker.lost) return;
    if (worker.missing > 0) this.logger.warn({ partition: worker.partition, missing: worker.missing }, 'lost deliveries did not all come back; going on');
    else worker.unaccounted = undefined;
    worker.missing = 0;
    this.releaseParked(worker);
  }

  /** Dispatches what was parked during a recovery, in sequence order (or keeps it held while stopping). */
  private releaseParked(worker: PartitionWorker): void {
    const parked = worker.parked.splice(0).sort((a, b) => a.seq - b.seq);
    if (worker.stopping || worker.lost) return; // held: handed back in order
    for (const record of parked) if (worker.held.get(record.seq) === record) this.dispatcher.push(record);
  }

  /** How many messages this partition may fetch now; waits while all slots are taken. */
  private async reserve(worker: PartitionWorker): Promise<number> {
    const share = Math.max(1, Math.floor(this.maxInFlight / Math.max(1, this.workers.size)));
    // The dispatcher's capacity counts bytes too: a partition fetches no more than fits.
    const free = this.dispatcher.capacity - this.reserved;
    if (free <= 0) {
      await new Promise<void>((resolve) => {
        this.capacityWaiters.push(resolve);
        void this.dispatcher.whenReady().then(() => setTimeout(resolve, 20));
      });
      return 0;
    }
    if (worker.stopping) return 0;
    const batch = Math.min(free, share);
    this.reserved += batch;
    return batch;
  }

  private releaseCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private receive(worker: PartitionWorker, message: JsMsg): void {
    const delivery = message.info.deliverySequence;
    worker.activeAt = Date.now();
    if (worker.lastDelivery !== undefined) {
      // Every delivery of this (group, partition) consumer comes to us, the lease holder, in
      // sequence: a gap means some went to a pull request nobody listens to any more.
      if (delivery > worker.lastDelivery + 1) {
        worker.unaccounted ??= worker.lastDelivery + 1;
        // While stopping they are not fetched again here: the next owner waits for them.
        if (!worker.stopping) {
          worker.missing += delivery - worker.lastDelivery - 1;
          worker.missingSince = Date.now();
        }
      }
      worker.lastDelivery = Math.max(worker.lastDelivery, delivery);
    }
    const held = worker.held.get(message.seq);
    if (held) {
      // AckWait ran out while we held it (a long pause): keep our copy, answer through the new delivery.
      held.ackTo = ackSubject(message);
      held.delivery = delivery;
      return;
    }
    const record: NatsRecord = {
      partition: worker.partition,
      offset: String(message.seq),
      seq: message.seq,
      key: message.headers?.get(KEY_HEADER) ?? '',
      value: message.data,
      attempt: message.info.deliveryCount,
      ackTo: ackSubject(message),
      delivery,
      bytes: undefined,
    };
    worker.held.set(message.seq, record);
    // A redelivery we did not hold is one of those that went astray, back.
    if (message.info.deliveryCount > 1 && worker.missing > 0) worker.missing -= 1;
    // While stopping, arrivals are only kept, to be nak'd with the rest in sequence order:
    // a nak now would put them ahead of earlier held messages in the redelivery queue.
    if (worker.stopping) return;
    if (worker.missing > 0 || worker.parked.length > 0) {
      worker.parked.push(record);
      return;
    }
    this.dispatcher.push(record);
  }

  private settle(record: NatsRecord, settlement: Settlement): void {
    const worker = this.workers.get(record.partition);
    if (worker) {
      worker.held.delete(record.seq);
      if (record.ackTo !== undefined) worker.lastSettledTo = record.ackTo;
    }
    this.settlements.push({ ackTo: record.ackTo, ack: settlement === 'ack' });
    if (this.settlements.length === 1) setImmediate(() => this.flushSettlements());
    this.releaseCapacityWaiters();
  }

  /**
   * Sends the settlements of one event-loop turn together: the client writes to the
   * socket once per microtask flush, and acks from many lanes would otherwise each cost a write.
   */
  private flushSettlements(): void {
    const settlements = this.settlements;
    this.settlements = [];
    const { nc } = this.context.clients;
    let unsent = 0;
    let failure: unknown;
    for (const { ackTo, ack } of settlements) {
      if (ackTo === undefined) continue;
      try {
        nc.publish(ackTo, ack ? ACK : TERM);
      } catch (error) {
        // The connection closed under us (a publish throws then; this runs from setImmediate,
        // where a throw would end the process): the message is redelivered after AckWait.
        unsent += 1;
        failure = error;
      }
    }
    if (unsent > 0) this.logger.warn({ err: failure, unsent }, 'settlements not sent (the connection is closed); those messages are redelivered after AckWait');
  }

  /** Tells JetStream we are still on every message the worker holds (a publish throws once the connection closed). */
  private keepWorking(worker: PartitionWorker): void {
    const { nc } = this.context.clients;
    for (const { ackTo } of worker.held.values()) if (ackTo !== undefined) nc.publish(ackTo, WORKING);
  }

  /** Tells JetStream we are still on every held message, so AckWait does not redeliver it. */
  private keepAlive(): void {
    const now = Date.now();
    for (const worker of this.workers.values()) {
      if (worker.lost || worker.held.size === 0) continue;
      worker.activeAt = now;
      this.keepWorking(worker);
    }
  }

  private nudgeOthers(): void {
    try {
      this.context.clients.nc.publish(this.context.names.nudge(this.topic, this.group));
    } catch (error) {
      this.logger.debug({ err: error }, 'nudge not sent');
    }
  }

  private async ensureConsumer(partition: number): Promise<Consumer> {
    const cached = this.consumers.get(partition);
    if (cached) return cached;
    const consumer = await ensureDurableConsumer(this.context, {
      stream: this.info.stream,
      topic: this.topic,
      group: this.group,
      partition,
      startFrom: this.subscribeOptions.startFrom ?? 'earliest',
      maxInFlight: this.maxInFlight,
      logger: this.logger,
      ...(this.ephemeral ? { inactiveThresholdMs: ephemeralInactiveThresholdMs(this.context.options.leaseTtlMs) } : {}),
    });
    this.consumers.set(partition, consumer);
    return consumer;
  }
}
