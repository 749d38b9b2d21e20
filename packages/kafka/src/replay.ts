import { randomUUID } from 'node:crypto';
import { decodeEnvelope, type Logger, type ReplayOptions, type ReplayRecord } from '@a2a-bus/core';
import { partitionForKey } from '@a2a-bus/core/adapter';
import type { Admin, Kafka } from 'kafkajs';
import type { KafkaConfig } from './options.js';
import { retryTransient, type TopicRegistry } from './topics.js';

export interface ReplayDeps {
  readonly kafka: Kafka;
  readonly admin: () => Promise<Admin>;
  readonly topics: TopicRegistry;
  readonly config: KafkaConfig;
  readonly logger: Logger;
}

/** Records read ahead of the iterator at most. */
const bufferLimit = 1_000;

/**
 * Reads `[start, end)` of each partition, `end` being the end offsets when the call began.
 * The reader is a consumer in a throwaway group that never commits and is deleted after,
 * so no group's committed offsets move and nothing durable is left behind.
 */
export async function* replayTopic(deps: ReplayDeps, topic: string, options: ReplayOptions = {}): AsyncGenerator<ReplayRecord> {
  const partitionCount = await deps.topics.lookup(topic);
  if (partitionCount === undefined) return;
  const ranges = await planRanges(await deps.admin(), topic, partitionCount, options);
  if (ranges.size === 0) return;

  const { config } = deps;
  // Through the groupId option, so ACLs that allow a namespace's groups cover replays too.
  const groupId = config.groupId(`a2a-bus-replay-${randomUUID()}`, topic);
  const consumer = deps.kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: config.heartbeatIntervalMs,
    maxWaitTimeInMs: Math.min(config.maxWaitTimeMs, 200),
    maxBytesPerPartition: config.maxBytesPerPartition,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 },
  });
  const next = new Map([...ranges].map(([partition, range]) => [partition, range.start]));
  const buffer: ReplayRecord[] = [];
  let wake: (() => void) | undefined;
  let roomWaiter: (() => void) | undefined;
  let failure: unknown;
  let stopped = false;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const remaining = (): number => [...ranges].filter(([partition, range]) => next.get(partition)! < range.end).length;

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    failure = payload.error;
    notify();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const range = ranges.get(batch.partition);
        if (!range) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // Records before the seek landed, or already read: skip.
          if (offset < next.get(batch.partition)! || offset >= range.end) continue;
          while (buffer.length >= bufferLimit && !stopped) {
            await new Promise<void>((resolve) => (roomWaiter = resolve));
            await heartbeat().catch(() => undefined);
          }
          if (stopped) return;
          next.set(batch.partition, offset + 1n);
          const key = message.key?.toString('utf8') ?? '';
          if (options.key !== undefined && key !== options.key) continue;
          const decoded = decodeEnvelope(message.value ?? new Uint8Array(0));
          buffer.push({
            topic,
            partition: batch.partition,
            offset: message.offset,
            timestamp: Number(message.timestamp),
            key,
            ...(decoded.ok ? { envelope: decoded.envelope } : { error: decoded.error }),
          });
          notify();
        }
        // The last records before `end` may be control records or compacted away.
        if (BigInt(batch.lastOffset()) + 1n >= range.end) next.set(batch.partition, range.end);
        notify();
      },
    });
    for (const [partition, range] of ranges) consumer.seek({ topic, partition, offset: range.start.toString() });
    const unread = Array.from({ length: partitionCount }, (_, partition) => partition).filter((partition) => !ranges.has(partition));
    if (unread.length > 0) consumer.pause([{ topic, partitions: unread }]);

    for (;;) {
      if (buffer.length > 0) {
        const records = buffer.splice(0, buffer.length);
        roomWaiter?.();
        roomWaiter = undefined;
        yield* records;
        continue;
      }
      if (failure) throw failure;
      if (remaining() === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    roomWaiter?.();
    await consumer.disconnect().catch((error: unknown) => deps.logger.warn({ err: error }, 'replay consumer disconnect failed'));
    const admin = await deps.admin();
    await admin.deleteGroups([groupId]).catch((error: unknown) => deps.logger.debug({ err: error, groupId }, 'replay group not deleted'));
  }
}

interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

async function planRanges(admin: Admin, topic: string, partitionCount: number, options: ReplayOptions): Promise<Map<number, Range>> {
  const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic));
  const bounds = new Map(offsets.map((entry) => [entry.partition, { low: BigInt(entry.low), high: BigInt(entry.high) }]));
  const from = options.from ?? { beginning: true as const };
  let starts: Map<number, bigint>;
  if ('beginning' in from) {
    starts = new Map([...bounds].map(([partition, bound]) => [partition, bound.low]));
  } else if ('partition' in from) {
    starts = new Map([[from.partition, BigInt(from.offset)]]);
  } else {
    const at = from.timestamp instanceof Date ? from.timestamp.getTime() : from.timestamp;
    const byTime = await retryTransient(() => admin.fetchTopicOffsetsByTimestamp(topic, at));
    starts = new Map(byTime.map((entry) => [entry.partition, BigInt(entry.offset)]));
  }
  const keyPartition = options.key === undefined ? undefined : partitionForKey(options.key, partitionCount);
  const ranges = new Map<number, Range>();
  for (const [partition, start] of starts) {
    const bound = bounds.get(partition);
    if (!bound || (keyPartition !== undefined && partition !== keyPartition)) continue;
    // biome-ignore lint/complexity/useMathMinMax: offsets are bigints, which Math.max does not take
    const from = start < bound.low ? bound.low : start;
    if (from < bound.high) ranges.set(partition, { start: from, end: bound.high });
  }
  return ranges;
}
