import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import {
  defaultRetryPolicy,
  type CloseOptions,
  type Delivery,
  type EnvelopeInput,
  type Instrumentation,
  type Logger,
  type MessageHandler,
  type SubscribeOptions,
  type Subscription,
} from '@a2a-bus/core';
import { KeyedDispatcher, PartitionBalancer, reportError, systemClock, type Settlement } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import { destroyGroup } from './ephemeral-groups.js';
import type { TopicKeys } from './keys.js';
import { AckBatcher } from './ack-batcher.js';
import { RedisLeaseStore } from './lease-store.js';
import type { ResolvedRedisStreamsOptions } from './options.js';
import type { StreamRecord } from './records.js';
import { StreamReader } from './stream-reader.js';

/** BLOCK of an ephemeral group's reads (a new entry ends a read at once; close and revoke unblock it). */
const EPHEMERAL_BLOCK_MS = 5_000;
/** How often an ephemeral group sweeps for entries pending under its own name that nobody handles. */
const EPHEMERAL_SWEEP_MS = 60_000;

/** What a subscription needs from its transport. */
export interface SubscriptionContext {
  readonly client: Redis;
  /** A new connected client for the blocking reads of one subscription. */
  readonly openBlockingClient: (name: string) => Promise<Redis>;
  /** Calls `listener` for every message on `channel` until the returned function is called. */
  readonly listen: (channel: string, listener: (message: string) => void) => Promise<() => Promise<void>>;
  readonly publish: (topic: string, envelope: EnvelopeInput) => Promise<unknown>;
  readonly forget: (subscription: RedisStreamsSubscription) => void;
  readonly options: ResolvedRedisStreamsOptions;
  readonly events: Required<Instrumentation>;
  readonly logger: Logger;
}

/**
 * One member of a consumer group on a topic: leases partitions through the balancer, fetches
 * their entries with a `StreamReader` and runs the handler through the shared dispatcher.
 */
export class RedisStreamsSubscription implements Subscription {
  readonly topic: string;
  readonly group: string;
  /** Member id, also the consumer name in the Redis group. */
  readonly member: string;
  private readonly context: SubscriptionContext;
  private readonly keys: TopicKeys;
  private readonly partitions: number;
  private readonly dispatcher: KeyedDispatcher<StreamRecord>;
  private readonly balancer: PartitionBalancer;
  private readonly acks: AckBatcher<StreamRecord>;
  private reader: StreamReader | undefined;
  private blocking: Redis | undefined;
  private readonly created: { readonly partitions: ReadonlySet<number>; readonly at: number };
  private unlisten: (() => Promise<void>) | undefined;
  private abandoned = false;
  private closing: Promise<void> | undefined;
  private readonly logger: Logger;
  /** An ephemeral group is destroyed when its (only) subscription closes. */
  private readonly ephemeral: boolean;

  /**
   * `created`: the partitions whose group the subscribe call created, and when it started
   * creating them (`performance.now()`).
   */
  constructor(
    context: SubscriptionContext,
    keys: TopicKeys,
    partitions: number,
    handler: MessageHandler,
    options: SubscribeOptions,
    created: { readonly partitions: ReadonlySet<number>; readonly at: number } = { partitions: new Set(), at: 0 },
  ) {
    this.created = created;
    this.context = context;
    this.keys = keys;
    this.topic = keys.topic;
    this.group = options.group;
    this.ephemeral = options.ephemeral ?? false;
    this.partitions = partitions;
    this.member = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = context.logger.child({ topic: this.topic, group: this.group, member: this.member });
    const { options: transportOptions } = context;
    this.acks = new AckBatcher<StreamRecord>(context.client, this.group, (record, error) => this.acknowledged(record, error));
    this.dispatcher = new KeyedDispatcher<StreamRecord>({
      transport: 'redis-streams',
      topic: this.topic,
      group: this.group,
      handler: this.recordingRetries(handler),
      maxInFlight: options.maxInFlight ?? 64,
      maxInFlightBytes: options.maxInFlightBytes,
      maxRecordBytes: transportOptions.maxEnvelopeBytes,
      retry: { ...defaultRetryPolicy, ...options.retry },
      deadLetterTopic: options.deadLetterTopic ?? `${this.topic}.dlq`,
      onDeadLetter: options.onDeadLetter,
      backend: {
        settle: (record, settlement) => this.settle(record, settlement),
        publishDeadLetter: async (topic, envelope) => {
          await context.publish(topic, envelope);
        },
        // Nothing starts or is acknowledged on a partition whose lease may have lapsed (a stall).
        holds: (partition) => this.balancer.holds(partition),
      },
      events: context.events,
      logger: this.logger,
      clock: systemClock,
    });
    this.balancer = new PartitionBalancer({
      store: new RedisLeaseStore(context.client, keys, this.group),
      member: this.member,
      partitions,
      leaseTtlMs: transportOptions.leaseTtlMs,
      intervalMs: transportOptions.rebalanceIntervalMs ?? Math.max(10, Math.floor(transportOptions.leaseTtlMs / 3)),
      onAssigned: (partition) => this.reader?.assign(partition),
      onRevoked: async (partition) => {
        await this.reader?.revoke(partition, !this.abandoned && !this.dispatcher.isLost(partition));
        await this.acks.idle(); // the next owner must not see what we acknowledged
      },
      onLost: (partition, reason) => this.dispatcher.lose(partition, reason),
      logger: this.logger,
      clock: systemClock,
      onError: (event) => context.events.onError({ ...event, transport: 'redis-streams', topic: this.topic, group: this.group, member: this.member }),
    });
  }

  /** Joins the group: resolves once the first rebalance round ran. */
  async start(): Promise<void> {
    const { options } = this.context;
    this.blocking = await this.context.openBlockingClient(`a2a-bus:reader:${this.member}`);
    this.reader = new StreamReader({
      client: this.context.client,
      blocking: this.blocking,
      keys: this.keys,
      group: this.group,
      consumer: this.member,
      dispatcher: this.dispatcher,
      // An ephemeral group has this one member, ever: no previous owner to wait for after an
      // assignment, no dead member's entries to claim. Its own entries left pending (a read
      // whose answer a dropped connection lost, a failed acknowledgement) are swept at once
      // (resync); the periodic sweep is a backstop. An idle agent's reply, control and
      // registry readers so wake Redis and the process a few times a minute, not every second.
      blockMs: this.ephemeral ? Math.max(options.blockMs, EPHEMERAL_BLOCK_MS) : options.blockMs,
      settleMs: this.ephemeral ? 0 : options.blockMs,
      // A group this subscribe created had no reader before: a partition assigned before any
      // other member's lease could have lapsed (half a lease TTL after creating it) was never
      // read by anyone else, so there is no blocked read to wait out.
      unread: { partitions: new Set(this.created.partitions), until: this.created.at + options.leaseTtlMs / 2 },
      readCount: options.readCount,
      claimMinIdleMs: options.claimMinIdleMs,
      claimIntervalMs: this.ephemeral ? Math.max(options.claimIntervalMs, EPHEMERAL_SWEEP_MS) : options.claimIntervalMs,
      logger: this.logger,
    });
    // Listen before joining, so a release announced right after our join is not missed.
    this.unlisten = await this.context.listen(this.keys.rebalanceChannel(this.group), (message) => {
      if (!message.endsWith(`:${this.member}`) && !this.closing) void this.balancer.nudge();
    });
    this.reader.start();
    try {
      await this.balancer.start();
    } catch (error) {
      await this.close({ drainTimeoutMs: 0 });
      throw error;
    }
  }

  assignedPartitions(): readonly number[] {
    return this.balancer.assigned;
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.drainTimeoutMs ?? 30_000);
    return this.closing;
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    await this.reader?.stop();
    const drained = await this.dispatcher.drain(drainTimeoutMs);
    this.abandoned = !drained;
    if (!drained) this.logger.warn({ drainTimeoutMs }, 'handlers abandoned at close; their messages will be redelivered');
    // Releasing the leases lets the others claim what we leave pending right away.
    await this.balancer.stop({ release: true });
    await this.acks.idle();
    if (drained) await this.forgetConsumer();
    await this.unlisten?.().catch(() => {});
    this.blocking?.disconnect();
    if (this.ephemeral) {
      await destroyGroup(this.context.client, this.keys, this.partitions, this.group).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not destroy the ephemeral group; the next subscriber sweeps it');
      });
    }
    this.context.forget(this);
  }

  /** Removes our consumer from the group's streams where it holds nothing pending. */
  private async forgetConsumer(): Promise<void> {
    const { client } = this.context;
    await Promise.all(
      Array.from({ length: this.partitions }, async (_, partition) => {
        const stream = this.keys.stream(partition);
        const pending = (await client.xpending(stream, this.group, '-', '+', 1, this.member)) as unknown[];
        if (pending.length === 0) await client.xgroup('DELCONSUMER', stream, this.group, this.member);
      }),
    ).catch((error: unknown) => this.logger.debug({ err: error }, 'could not remove the consumer from the group'));
  }

  /**
   * XACK without holding the key until Redis answered: the next message of the key may start
   * meanwhile, as with a hand-written consumer. A hand-over waits for every XACK in flight
   * (`acks.idle()`) before the lease is released, and an XACK that fails leaves the entry
   * pending and held by nobody, so the sweep delivers it again (at least once).
   */
  private settle(record: StreamRecord, _settlement: Settlement): void {
    this.acks.ack(record.stream, record.offset, record);
  }

  /** Redis answered the XACK of `record` (`error` set when it failed). */
  private acknowledged(record: StreamRecord, error: unknown): void {
    if (error === undefined) {
      this.reader?.settled(record, true);
      return;
    }
    reportError(this.context.events, this.logger, 'warn', {
      kind: 'settle-failed',
      transport: 'redis-streams',
      topic: this.topic,
      group: this.group,
      partition: record.partition,
      message: `XACK of ${record.offset} failed; the entry will be delivered again`,
      error,
    });
    this.reader?.settled(record, false);
  }

  /**
   * Writes in-process retries back as the entry's delivery count (XCLAIM RETRYCOUNT), so a
   * member that takes the entry over after a crash continues the attempt count. A first
   * attempt calls the handler as is: a synchronous handler stays synchronous, so the
   * dispatcher settles it without a promise per message.
   */
  private recordingRetries(handler: MessageHandler): MessageHandler {
    return (delivery: Delivery) => {
      if (delivery.attempt <= 1) return handler(delivery);
      const stream = this.keys.stream(delivery.partition);
      return this.context.client
        .xclaim(stream, this.group, this.member, 0, delivery.offset, 'RETRYCOUNT', delivery.attempt, 'JUSTID')
        .catch((error: unknown) => this.logger.debug({ err: error }, 'could not record the retry count'))
        .then(() => handler(delivery));
    };
  }
}
