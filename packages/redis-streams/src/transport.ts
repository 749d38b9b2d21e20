import {
  type ConsumerLag,
  type LagQuery,
  createEnvelope,
  InvalidOptionsError,
  PublishError,
  silentLogger,
  TransportClosedError,
  type CloseOptions,
  type Envelope,
  type EnvelopeInput,
  type Instrumentation,
  type Logger,
  type MessageHandler,
  type PublishReceipt,
  type RawRecord,
  type ReplayOptions,
  type ReplayRecord,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  type TransportCapabilities,
} from '@a2a-bus/core';
import { encodeEnvelopeTextWithin, ephemeralGroupName, isSilentHook, partitionForKey, safeInstrumentation } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import { redisStreamsCapabilities } from './capabilities.js';
import { connectWithin, createRedisClient, SCOPE, securityErrorOf, withoutCredentials } from './connection.js';
import { TopicKeys } from './keys.js';
import { NudgeChannel } from './nudge-channel.js';
import { redisStreamsLag } from './lag.js';
import { parseRedisStreamsOptions, type RedisStreamsOptions, type ResolvedRedisStreamsOptions } from './options.js';
import { planReplay, readReplay } from './replay.js';
import { trimStream } from './retention.js';
import { sweepEphemeralGroups } from './ephemeral-groups.js';
import { RedisStreamsSubscription, type SubscriptionContext } from './subscription.js';
import { XaddWriter } from './xadd-writer.js';

/** The Redis Streams transport, with two extras for operations and tests. */
export interface RedisStreamsTransport extends Transport {
  /** Deletes everything a2a-bus keeps for `topic` (streams, partition count, leases, members). */
  deleteTopic(topic: string): Promise<void>;
  /** Trims the streams this transport wrote to by its retention policy; never a pending entry. */
  trimAll(): Promise<number>;
}

/**
 * A transport over Redis Streams. A topic is `partitions` streams (`<prefix>{topic}:<p>`),
 * a message goes to the stream of its key's partition (murmur2, like Kafka), and each
 * partition of a group is consumed by one member at a time under an expiring lease.
 */
export class RedisStreamsTransportImpl implements RedisStreamsTransport {
  readonly backend = 'redis-streams';
  readonly capabilities: TransportCapabilities = redisStreamsCapabilities;
  private readonly options: ResolvedRedisStreamsOptions;
  private readonly logger: Logger;
  private readonly events: Required<Instrumentation>;
  private readonly client: Redis;
  /** Pub/sub for rebalance nudges, on a connection of its own (opened on the first subscribe). */
  private readonly nudges: NudgeChannel;
  private readonly blockingClients = new Set<Redis>();
  private connecting: Promise<void> | undefined;
  private readonly partitionCounts = new Map<string, Promise<number>>();
  private readonly topicKeys = new Map<string, TopicKeys>();
  private readonly subscriptions = new Set<RedisStreamsSubscription>();
  /** Sweeps of dead processes' ephemeral groups under way (close waits for them). */
  private readonly sweeps = new Set<Promise<unknown>>();
  private readonly trimmed = new Set<string>();
  private trimTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Appends, on a connection of their own (opened on the first publish). */
  private writer: XaddWriter | undefined;
  private writerReady: Promise<XaddWriter> | undefined;
  private writerClient: Redis | undefined;
  /** Publishes waiting for the connection or a partition count: later ones wait behind them. */
  private settingUp = 0;
  /** Partition counts already read, for a synchronous look-up on the publish path. */
  private readonly knownPartitions = new Map<string, number>();
  /** Whether an `onPublish` hook is set: otherwise no event is built. */
  private readonly reportingPublish: boolean;

  constructor(options: RedisStreamsOptions = {}) {
    this.options = parseRedisStreamsOptions(options);
    this.logger = (this.options.logger ?? silentLogger).child({ transport: SCOPE });
    this.events = safeInstrumentation(this.options.instrumentation, this.logger);
    this.reportingPublish = !isSilentHook(this.events.onPublish);
    this.client = this.newClient('a2a-bus', true);
    this.nudges = new NudgeChannel(
      () => this.newClient('a2a-bus:rebalance'),
      (subscriber) => connectWithin(subscriber, this.options.url, this.options.connectTimeoutMs),
    );
  }

  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new TransportClosedError(SCOPE, 'connect'));
    this.connecting ??= connectWithin(this.client, this.options.url, this.options.connectTimeoutMs).then(
      () => this.startRetention(),
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  publish(topic: string, input: EnvelopeInput): Promise<PublishReceipt> {
    // Not async itself: returning append's promise as is saves the turns of wrapping it.
    if (this.closing) return Promise.reject(new TransportClosedError(SCOPE, 'publish'));
    return this.append(topic, input);
  }

  /** Publish without the closed check: dead letters are still written while subscriptions drain at close. */
  private async append(topic: string, input: EnvelopeInput): Promise<PublishReceipt> {
    const envelope = createEnvelope(input);
    // Text, not bytes: ioredis writes an all-string XADD in one go.
    const value = encodeEnvelopeTextWithin(envelope, this.options.maxEnvelopeBytes, SCOPE, topic);
    const started = this.reportingPublish ? performance.now() : 0;
    let writer = this.writer;
    let partitions = this.knownPartitions.get(topic);
    // The hot path awaits nothing before the XADD is issued: connected, partition count known.
    // Until then every publish takes the same awaits in turn, so appends keep the call order.
    if (!writer || partitions === undefined || this.settingUp > 0) {
      this.settingUp += 1;
      try {
        writer = await this.openWriter();
        partitions = await this.partitionsFor(topic);
      } finally {
        this.settingUp -= 1;
      }
    }
    const partition = partitionForKey(envelope.key, partitions);
    const stream = this.keysOf(topic).stream(partition);
    let offset: string | null;
    try {
      offset = await writer.xadd(stream, envelope.key, value);
    } catch (cause) {
      throw securityErrorOf(cause, this.options.url, stream) ?? new PublishError(SCOPE, topic, { cause });
    }
    this.published(stream);
    if (this.reportingPublish) this.reportPublish(topic, partition, envelope, Buffer.byteLength(value), started);
    return { id: envelope.id, topic, partition, offset: offset ?? '' };
  }

  async publishBatch(topic: string, inputs: readonly EnvelopeInput[]): Promise<PublishReceipt[]> {
    this.assertOpen('publish');
    const envelopes = inputs.map((input) => createEnvelope(input));
    if (envelopes.length === 0) return [];
    const encoded = envelopes.map((envelope) => encodeEnvelopeTextWithin(envelope, this.options.maxEnvelopeBytes, SCOPE, topic));
    const writer = await this.openWriter();
    const started = performance.now();
    const partitions = await this.partitionsFor(topic);
    const keys = this.keysOf(topic);
    // In call order on the publishing connection, after anything published before, pipelined.
    const prepared = envelopes.map((envelope, i) => {
      const partition = partitionForKey(envelope.key, partitions);
      const value = encoded[i]!;
      const offset = writer.xadd(keys.stream(partition), envelope.key, value);
      return { envelope, partition, value, offset };
    });
    const replies = await Promise.allSettled(prepared.map(({ offset }) => offset));
    return prepared.map(({ envelope, partition, value }, i) => {
      const reply = replies[i]!;
      if (reply.status === 'rejected') throw new PublishError(SCOPE, topic, { cause: reply.reason });
      this.published(keys.stream(partition));
      if (this.reportingPublish) this.reportPublish(topic, partition, envelope, Buffer.byteLength(value), started);
      return { id: envelope.id, topic, partition, offset: String(reply.value) };
    });
  }

  async publishRaw(topic: string, record: RawRecord): Promise<void> {
    this.assertOpen('publish');
    const writer = await this.openWriter();
    const partition = partitionForKey(record.key, await this.partitionsFor(topic));
    const stream = this.keysOf(topic).stream(partition);
    try {
      await writer.xadd(stream, record.key, Buffer.from(record.value));
    } catch (cause) {
      throw new PublishError(SCOPE, topic, { cause });
    }
    this.published(stream);
  }

  async subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen('subscribe');
    if (typeof options?.group !== 'string' || options.group.length === 0) {
      throw new InvalidOptionsError(SCOPE, 'group', 'a non-empty consumer group name is required');
    }
    if (options.maxInFlight !== undefined && (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)) {
      throw new InvalidOptionsError(SCOPE, 'maxInFlight', 'must be an integer of at least 1');
    }
    await this.connect();
    const keys = this.keysOf(topic);
    const partitions = await this.partitionsFor(topic);
    const group = options.ephemeral ? ephemeralGroupName(options.group) : options.group;
    if (options.ephemeral) this.sweepGoneOwners(keys, partitions);
    const creating = performance.now();
    const created = await this.createGroup(keys, partitions, group, options.startFrom ?? 'earliest').catch((error: unknown) => {
      throw securityErrorOf(error, this.options.url, keys.stream(0)) ?? error;
    });
    const subscription = new RedisStreamsSubscription(
      this.subscriptionContext(),
      keys,
      partitions,
      handler,
      { ...options, group },
      {
        partitions: created,
        at: creating,
      },
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      throw error;
    }
    return subscription;
  }

  replay(topic: string, options: ReplayOptions = {}): AsyncIterable<ReplayRecord> {
    this.assertOpen('replay');
    const keys = this.keysOf(topic);
    // The end of each stream is fixed now, at the call, not when iteration begins.
    const plan = (async () => {
      await this.connect();
      // Reads the stored count only: replay creates nothing.
      const stored = await this.client.get(keys.partitionCount);
      return planReplay(this.client, keys, stored === null ? undefined : Number(stored), options);
    })();
    plan.catch(() => {}); // reported when the caller iterates
    const client = this.client;
    return (async function* () {
      yield* readReplay(client, keys, await plan, options);
    })();
  }

  /**
   * Deletes everything a2a-bus keeps for `topic`: its streams, partition count, groups'
   * leases and members. For tests and tooling; members still subscribed lose their state.
   */
  async deleteTopic(topic: string): Promise<void> {
    this.assertOpen('delete a topic');
    await this.connect();
    const keys = this.keysOf(topic);
    const pattern = keys.everyKeyPattern;
    let cursor = '0';
    do {
      const [next, found] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (found.length > 0) await this.client.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
    this.partitionCounts.delete(topic);
    this.knownPartitions.delete(topic);
  }

  /** Per group and partition stream: see `redisStreamsLag`. */
  async inspectLag(query: LagQuery = {}): Promise<ConsumerLag[]> {
    this.assertOpen('inspect lag');
    await this.connect();
    return redisStreamsLag(this.client, this.options.keyPrefix, query, Date.now());
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close(options)));
    await Promise.allSettled([...this.sweeps]);
    clearInterval(this.trimTimer);
    await this.connecting?.catch(() => {});
    await this.writerReady?.catch(() => {});
    const subscriber = this.nudges.connection();
    const clients = [this.client, ...(this.writerClient ? [this.writerClient] : []), ...(subscriber ? [subscriber] : []), ...this.blockingClients];
    await Promise.all(clients.map((client) => quit(client)));
  }

  /** The topic's partition count, fixed in Redis by the first client that used the topic. */
  private partitionsFor(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (!count) {
      const key = this.keysOf(topic).partitionCount;
      const wanted = this.options.partitions;
      // SET NX, then GET: whoever set it first wins, and everyone reads the winner (Redis 6.2 has no SET NX GET).
      count = (async () => {
        await this.client.set(key, wanted, 'NX').catch((error: unknown) => {
          throw securityErrorOf(error, this.options.url, key) ?? error;
        });
        const value = await this.client.get(key);
        const stored = Number(value);
        if (!Number.isInteger(stored) || stored < 1) throw new Error(`${key} holds ${String(value)}, not a partition count`);
        if (stored !== wanted) this.logger.debug({ topic, partitions: stored, configured: wanted }, 'topic exists with another partition count; using it');
        if (this.partitionCounts.get(topic) === count && this.knownPartitions.size < 10_000) this.knownPartitions.set(topic, stored);
        return stored;
      })();
      count.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, count);
    }
    return count;
  }

  /**
   * Creates the group on every partition stream, so entries published from now on (or from
   * the start) are kept for it. Returns the partitions whose group this call created (the
   * others existed: BUSYGROUP).
   */
  private async createGroup(keys: TopicKeys, partitions: number, group: string, startFrom: 'earliest' | 'latest'): Promise<Set<number>> {
    const pipeline = this.client.pipeline();
    for (let p = 0; p < partitions; p += 1) pipeline.xgroup('CREATE', keys.stream(p), group, startFrom === 'earliest' ? '0' : '$', 'MKSTREAM');
    const replies = (await pipeline.exec()) ?? [];
    const created = new Set<number>();
    for (const [p, [error]] of replies.entries()) {
      if (error && !String(error.message).startsWith('BUSYGROUP')) throw error;
      if (!error) created.add(p);
    }
    return created;
  }

  /**
   * Destroys the topic's ephemeral groups whose process died, in the background: an
   * ephemeral group is reclaimed by the next ephemeral subscriber of its topic once it is
   * older than twice the lease TTL and has no live member.
   */
  private sweepGoneOwners(keys: TopicKeys, partitions: number): void {
    const sweep = sweepEphemeralGroups(this.client, keys, partitions, 2 * this.options.leaseTtlMs, this.logger)
      .catch((error: unknown) => this.logger.debug({ err: error, topic: keys.topic }, 'ephemeral group sweep failed'))
      .finally(() => this.sweeps.delete(sweep));
    this.sweeps.add(sweep);
  }

  private subscriptionContext(): SubscriptionContext {
    return {
      client: this.client,
      openBlockingClient: async (name) => {
        const client = this.newClient(name);
        this.blockingClients.add(client);
        client.once('end', () => this.blockingClients.delete(client));
        await connectWithin(client, this.options.url, this.options.connectTimeoutMs);
        return client;
      },
      listen: (channel, listener) => this.nudges.listen(channel, listener),
      publish: (topic, envelope) => this.append(topic, envelope),
      forget: (subscription) => this.subscriptions.delete(subscription),
      options: this.options,
      events: this.events,
      logger: this.logger,
    };
  }

  /** The connection publishes go through, opened after the command connection. */
  private openWriter(): Promise<XaddWriter> {
    this.writerReady ??= (async () => {
      await (this.connecting ?? this.connect());
      const client = this.newClient('a2a-bus:publish');
      this.writerClient = client;
      await connectWithin(client, this.options.url, this.options.connectTimeoutMs);
      this.writer = new XaddWriter(client);
      return this.writer;
    })();
    this.writerReady.catch(() => {
      this.writerReady = undefined;
    });
    return this.writerReady;
  }

  private newClient(name: string, autoPipelining = false): Redis {
    const client = createRedisClient(this.options.url, this.options.connectTimeoutMs, name, autoPipelining, this.options.tls);
    // ioredis prints unhandled error events; route them to the logger instead.
    client.on('error', (error: unknown) => this.logger.debug({ err: withoutCredentials(error), connection: name }, 'redis connection error'));
    return client;
  }

  private keysOf(topic: string): TopicKeys {
    let keys = this.topicKeys.get(topic);
    if (!keys) {
      if (typeof topic !== 'string' || topic.length === 0) throw new InvalidOptionsError(SCOPE, 'topic', 'must be a non-empty string');
      keys = new TopicKeys(this.options.keyPrefix, topic);
      if (this.topicKeys.size < 10_000) this.topicKeys.set(topic, keys);
    }
    return keys;
  }

  private assertOpen(operation: string): void {
    if (this.closing) throw new TransportClosedError(SCOPE, operation);
  }

  private reportPublish(topic: string, partition: number, envelope: Envelope, bytes: number, started: number): void {
    this.events.onPublish({
      transport: SCOPE,
      topic,
      partition,
      key: envelope.key,
      id: envelope.id,
      bytes,
      durationMs: performance.now() - started,
    });
  }

  private published(stream: string): void {
    if (this.options.retention) this.trimmed.add(stream);
  }

  private startRetention(): void {
    const retention = this.options.retention;
    if (!retention || this.trimTimer || (retention.maxLen === undefined && retention.maxAgeMs === undefined)) return;
    this.trimTimer = setInterval(() => void this.trimAll(), retention.intervalMs);
    this.trimTimer.unref();
  }

  /** Trims the streams this transport wrote to; never an entry still pending (see `trimStream`). */
  async trimAll(): Promise<number> {
    const retention = this.options.retention;
    if (!retention) return 0;
    let deleted = 0;
    for (const stream of this.trimmed) {
      deleted += await trimStream(this.client, stream, retention).catch((error: unknown) => {
        this.logger.warn({ err: error, stream }, 'trim failed');
        return 0;
      });
    }
    return deleted;
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }
  client.disconnect();
}
