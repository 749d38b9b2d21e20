import { randomUUID } from 'node:crypto';
import {
  InvalidOptionsError,
  TransportClosedError,
  createEnvelope,
  decodeEnvelope,
  defaultRetryPolicy,
  silentLogger,
  type CloseOptions,
  type Envelope,
  type EnvelopeInput,
  type MessageHandler,
  type PublishReceipt,
  type RawRecord,
  type ReplayOptions,
  type ReplayRecord,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from '@a2a-bus/core';
import {
  KeyedDispatcher,
  ephemeralGroupName,
  assertEnvelopeWithin,
  isSilentHook,
  partitionForKey,
  reportError,
  safeInstrumentation,
  systemClock,
  type InboundRecord,
} from '@a2a-bus/core/adapter';
import { memoryCapabilities } from './capabilities.js';
import { memoryLag } from './lag.js';
import { namedBroker, type GroupMember, type MemoryGroup, type MemoryTopic, type StoredRecord } from './log.js';
import { parseMemoryOptions, type MemoryTransportOptions } from './options.js';
import type { PartitionLog } from './partition-log.js';
import type { PendingEntries } from './pending-entries.js';
import { limitsForTopic } from './retention.js';

interface MemoryRecord extends InboundRecord {
  readonly stored: StoredRecord;
}

/**
 * The in-memory transport: a real partitioned log with consumer groups, pending entries,
 * rebalancing, retries, dead letters and replay — the reference implementation every other
 * adapter is measured against. Envelopes are kept decoded, so treat them as read-only.
 */
export function createMemoryTransport(options: MemoryTransportOptions = {}): Transport {
  const config = parseMemoryOptions(options);
  const broker = config.broker ?? namedBroker(config.name);
  const logger = (config.logger ?? silentLogger).child({ transport: 'memory' });
  const events = safeInstrumentation(config.instrumentation, logger);
  const reportPublish = !isSilentHook(events.onPublish);
  const clock = config.clock ?? systemClock;
  const subscriptions = new Set<MemorySubscription>();
  let closing: Promise<void> | undefined;
  /** Topics this transport used (the broker never drops one): no lookup and no limits to work out per append. */
  const topics = new Map<string, MemoryTopic>();
  /** The topic, created on first use with this transport's partition count and retention. */
  const topicLog = (name: string): MemoryTopic => {
    let topic = topics.get(name);
    if (topic === undefined) {
      topic = broker.topic(name, config.partitions, limitsForTopic(config.retention, name));
      topics.set(name, topic);
    }
    return topic;
  };

  const assertOpen = (operation: string): void => {
    if (closing) throw new TransportClosedError('memory', operation);
  };

  /**
   * `bytes`: the envelope's size, when publishBatch has measured it already. `wake` false:
   * the caller tells the groups once the batch is in. A batch is appended at one instant
   * (`timestamp`: read once, not per record).
   */
  const append = (
    topicName: string,
    envelope: Envelope,
    bytes = assertEnvelopeWithin(envelope, config.maxEnvelopeBytes, 'memory', topicName),
    wake = true,
    timestamp = clock.now(),
    topic = topicLog(topicName),
  ): PublishReceipt => {
    const partition = partitionForKey(envelope.key, topic.partitions.length);
    const started = reportPublish ? performance.now() : 0;
    const offset = topic.append(partition, envelope.key, envelope, timestamp, bytes, wake);
    if (reportPublish)
      events.onPublish({
        transport: 'memory',
        topic: topicName,
        partition,
        key: envelope.key,
        id: envelope.id,
        bytes,
        durationMs: performance.now() - started,
      });
    return { id: envelope.id, topic: topicName, partition, offset: String(offset) };
  };

  const transport: Transport = {
    backend: 'memory',
    capabilities: memoryCapabilities,

    async connect() {
      assertOpen('connect');
    },

    async publish(topic, envelope) {
      assertOpen('publish');
      return append(topic, createEnvelope(envelope));
    },

    async publishBatch(topic, envelopes) {
      assertOpen('publish');
      // Validate and measure every envelope before appending any (each measured right after it is made: see takeMeasuredSize).
      const valid: Envelope[] = [];
      const sizes: number[] = [];
      for (const input of envelopes) {
        const envelope = createEnvelope(input);
        valid.push(envelope);
        sizes.push(assertEnvelopeWithin(envelope, config.maxEnvelopeBytes, 'memory', topic));
      }
      // All in, then each partition's groups woken once: they take the records in one pass.
      const log = topicLog(topic);
      const at = clock.now();
      const receipts = valid.map((envelope, i) => append(topic, envelope, sizes[i], false, at, log));
      const touched = new Set<number>();
      for (const receipt of receipts) touched.add(receipt.partition);
      for (const partition of touched) log.wake(partition);
      return receipts;
    },

    async publishRaw(topic: string, record: RawRecord) {
      assertOpen('publish');
      const log = topicLog(topic);
      const value = Uint8Array.from(record.value);
      log.append(partitionForKey(record.key, log.partitions.length), record.key, value, clock.now(), value.byteLength);
    },

    async subscribe(topic: string, handler: MessageHandler, subscribeOptions: SubscribeOptions) {
      assertOpen('subscribe');
      const subscription = new MemorySubscription(
        topicLog(topic),
        handler,
        subscribeOptions,
        async (dlqTopic, envelope) => {
          append(dlqTopic, createEnvelope(envelope));
        },
        { events, logger, clock, ackTimeoutMs: config.ackTimeoutMs, maxEnvelopeBytes: config.maxEnvelopeBytes },
        () => subscriptions.delete(subscription),
      );
      subscriptions.add(subscription);
      await subscription.start();
      return subscription;
    },

    replay(topic: string, replayOptions: ReplayOptions = {}) {
      assertOpen('replay');
      return replayTopic(broker.existingTopic(topic), topic, replayOptions);
    },

    async inspectLag(query = {}) {
      assertOpen('inspect lag');
      return memoryLag(broker, query, clock.now());
    },

    close(closeOptions?: CloseOptions) {
      closing ??= Promise.all([...subscriptions].map((s) => s.close(closeOptions))).then(() => undefined);
      return closing;
    },
  };
  return transport;
}

interface Runtime {
  readonly events: ReturnType<typeof safeInstrumentation>;
  readonly logger: typeof silentLogger;
  readonly clock: typeof systemClock;
  readonly ackTimeoutMs: number;
  readonly maxEnvelopeBytes: number;
}

/** One group member: owns some partitions of the topic and pumps their records into its dispatcher. */
class MemorySubscription implements Subscription, GroupMember {
  readonly id = `member-${randomUUID()}`;
  readonly topic: string;
  readonly group: string;
  private readonly owned = new Set<number>();
  private readonly log: MemoryTopic;
  private readonly state: MemoryGroup;
  private readonly dispatcher: KeyedDispatcher<MemoryRecord>;
  private waitingForCapacity = false;
  private closing: Promise<void> | undefined;
  private readonly onClosed: () => void;
  private readonly runtime: Runtime;
  private watchdog: unknown;
  private readonly ephemeral: boolean;

  constructor(
    log: MemoryTopic,
    handler: MessageHandler,
    options: SubscribeOptions,
    publishDeadLetter: (topic: string, envelope: EnvelopeInput) => Promise<void>,
    runtime: Runtime,
    onClosed: () => void,
  ) {
    this.log = log;
    this.topic = log.name;
    this.group = options.ephemeral ? ephemeralGroupName(options.group) : options.group;
    this.ephemeral = options.ephemeral ?? false;
    this.onClosed = onClosed;
    this.runtime = runtime;
    this.state = log.group(this.group, options.startFrom ?? 'earliest');
    this.dispatcher = new KeyedDispatcher<MemoryRecord>({
      transport: 'memory',
      topic: log.name,
      group: options.group,
      handler,
      maxInFlight: options.maxInFlight ?? 64,
      maxInFlightBytes: options.maxInFlightBytes,
      maxRecordBytes: runtime.maxEnvelopeBytes,
      retry: { ...defaultRetryPolicy, ...options.retry },
      deadLetterTopic: options.deadLetterTopic ?? `${log.name}.dlq`,
      onDeadLetter: options.onDeadLetter,
      backend: {
        settle: (record) => {
          this.state.pending[record.partition]!.delete(record.stored.offset);
        },
        recordAttempt: (record, attempts) => {
          const entry = this.state.pending[record.partition]!.get(record.stored.offset);
          if (entry) entry.deliveries = attempts;
        },
        publishDeadLetter,
      },
      events: runtime.events,
      logger: runtime.logger.child({ topic: log.name, group: options.group }),
      clock: runtime.clock,
    });
  }

  /** Joins the group; partitions arrive as the rebalance hands them over (the old owner drains first). */
  start(): Promise<void> {
    this.state.join(this).catch((error: unknown) => this.runtime.logger.error({ err: error, member: this.id }, 'rebalance failed'));
    this.watch();
    return Promise.resolve();
  }

  /** The ack timeout: a member whose handler hangs past it is dropped, like a dead one. */
  private watch(): void {
    const { clock, ackTimeoutMs, logger, events } = this.runtime;
    this.watchdog = clock.setTimeout(
      () => {
        if (this.closing) return;
        if (this.dispatcher.longestRunningMs() > ackTimeoutMs) {
          reportError(events, logger, 'warn', {
            kind: 'subscription-closed',
            transport: 'memory',
            topic: this.topic,
            group: this.group,
            member: this.id,
            message: `a handler exceeded the ack timeout (${ackTimeoutMs} ms); member dropped, its messages redelivered`,
          });
          void this.close({ drainTimeoutMs: 0 });
          return;
        }
        this.watch();
      },
      Math.max(1, Math.floor(ackTimeoutMs / 4)),
    );
    (this.watchdog as { unref?: () => void } | undefined)?.unref?.(); // a watchdog alone does not keep a process up
  }

  assignedPartitions(): readonly number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  assign(partition: number): void {
    this.owned.add(partition);
    this.dispatcher.assign(partition);
  }

  async revoke(partition: number): Promise<void> {
    this.owned.delete(partition);
    await this.dispatcher.revoke(partition);
  }

  /** Hands records over while the dispatcher has room: first the entries another member let go, then new ones. */
  wake(partition: number): void {
    if (!this.owned.has(partition) || this.closing) return;
    const pending = this.state.pending[partition]!;
    const records = this.log.partitions[partition]!;
    // Retention never drops a record at or past this group's oldest unacknowledged offset: at() finds them all.
    while (this.dispatcher.capacity > 0) {
      const orphan = this.state.orphans[partition]! > 0 ? firstOrphan(pending) : undefined;
      if (orphan !== undefined) {
        this.state.orphans[partition]! -= 1;
        const entry = pending.get(orphan)!;
        entry.holder = this.id;
        entry.deliveries += 1;
        this.push(partition, records.at(orphan)!, entry.deliveries);
        continue;
      }
      const cursor = this.state.cursors[partition]!;
      if (cursor >= records.end) return;
      this.state.cursors[partition] = cursor + 1;
      pending.add(cursor, { deliveries: 1, holder: this.id });
      this.push(partition, records.at(cursor)!, 1);
    }
    this.resumeWhenReady();
  }

  private push(partition: number, stored: StoredRecord, attempt: number): void {
    this.dispatcher.push({ partition, offset: String(stored.offset), key: stored.key, value: stored.value, attempt, bytes: stored.bytes, stored });
  }

  private resumeWhenReady(): void {
    if (this.waitingForCapacity) return;
    this.waitingForCapacity = true;
    void this.dispatcher.whenReady().then(() => {
      this.waitingForCapacity = false;
      for (const partition of this.owned) this.wake(partition);
    });
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      this.runtime.clock.clearTimeout(this.watchdog);
      await this.dispatcher.drain(options.drainTimeoutMs ?? 30_000);
      this.owned.clear();
      await this.state.leave(this.id);
      if (this.ephemeral) this.log.dropGroup(this.group); // nothing of it outlives the subscription
      this.onClosed();
    })();
    return this.closing;
  }
}

function firstOrphan(pending: PendingEntries): number | undefined {
  for (const [offset, entry] of pending.entries()) if (entry.holder === undefined) return offset;
  return undefined;
}

/** Fixes what to read now — the end of each partition as of the call — then reads it lazily. */
function replayTopic(log: MemoryTopic | undefined, topic: string, options: ReplayOptions): AsyncIterable<ReplayRecord> {
  const from = options.from ?? { beginning: true };
  if ('partition' in from && !/^\d+$/.test(from.offset)) {
    throw new InvalidOptionsError('memory', 'from.offset', `"${from.offset}" is not an offset (a non-negative integer)`);
  }
  if (!log) return (async function* () {})();
  const partitions =
    'partition' in from
      ? [from.partition]
      : options.key !== undefined
        ? [partitionForKey(options.key, log.partitions.length)]
        : log.partitions.map((_, p) => p);
  const since = 'timestamp' in from ? (typeof from.timestamp === 'number' ? from.timestamp : from.timestamp.getTime()) : undefined;
  const plan = partitions.map((partition) => {
    const records: PartitionLog | undefined = log.partitions[partition];
    let start = 'partition' in from ? Number(from.offset) : 0;
    if (since !== undefined) start = records?.offsetAtOrAfter(since) ?? 0;
    return { partition, records, start, end: records?.end ?? 0 };
  });
  return (async function* () {
    for (const { partition, records, start, end } of plan) {
      if (!records) continue;
      // Records trimmed by retention (before or during the replay) are skipped: it reads what is still kept.
      for (let offset = start; offset < end; offset += 1) {
        const record = records.at(offset);
        if (!record) {
          if (offset < records.start) offset = records.start - 1;
          continue;
        }
        if (options.key !== undefined && record.key !== options.key) continue;
        yield toReplayRecord(topic, partition, record);
      }
    }
  })();
}

function toReplayRecord(topic: string, partition: number, record: StoredRecord): ReplayRecord {
  const base = { topic, partition, offset: String(record.offset), timestamp: record.timestamp, key: record.key };
  if (!(record.value instanceof Uint8Array)) return { ...base, envelope: record.value };
  const decoded = decodeEnvelope(record.value);
  return decoded.ok ? { ...base, envelope: decoded.envelope } : { ...base, error: decoded.error };
}
