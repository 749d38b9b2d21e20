import { retentionForTopic, type BrokerRetention } from '@a2a-bus/core/adapter';
import type { Admin } from 'kafkajs';

export interface TopicSettings {
  readonly partitions: number;
  readonly replicationFactor: number | undefined;
  readonly retention: BrokerRetention;
}

const DAY_MS = 86_400_000;

/**
 * Configs of a topic a2a-bus creates: broker append time (replay by timestamp means "when
 * the broker stored it") and no age limit of the broker's own (`retention.ms` -1), which would
 * delete records whether groups committed them or not: the transport's `RetentionTrimmer`
 * deletes them instead (`KafkaRetentionRounds`). Kafka frees whole segments below the log start
 * offset, so segments roll at least daily (or each retention period, if shorter).
 */
export function topicConfigEntries(topic: string, retention: BrokerRetention): { name: string; value: string }[] {
  const limits = retentionForTopic(retention, topic);
  const entries = [
    { name: 'message.timestamp.type', value: 'LogAppendTime' },
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: '-1' },
  ];
  if (limits) entries.push({ name: 'segment.ms', value: String(Math.min(limits.maxAgeMs, DAY_MS)) });
  return entries;
}

/**
 * Creates topics on first use (with `topicConfigEntries`) and remembers how many partitions
 * each has.
 */
export class TopicRegistry {
  private readonly known = new Map<string, Promise<number>>();
  private readonly admin: () => Promise<Admin>;
  private readonly settings: TopicSettings;

  constructor(admin: () => Promise<Admin>, settings: TopicSettings) {
    this.admin = admin;
    this.settings = settings;
  }

  /** The topic's partition count, creating the topic first when it does not exist. */
  ensure(topic: string): Promise<number> {
    let partitions = this.known.get(topic);
    if (!partitions) {
      partitions = this.create(topic);
      this.known.set(topic, partitions);
      partitions.catch(() => this.known.delete(topic));
    }
    return partitions;
  }

  /** The partition count of an existing topic, or undefined when it does not exist (creates nothing). */
  async lookup(topic: string): Promise<number | undefined> {
    const cached = this.known.get(topic);
    if (cached) return cached;
    const admin = await this.admin();
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return undefined;
    return this.waitForLeaders(admin, topic);
  }

  /** Forgets a topic (after it was deleted). */
  forget(topic: string): void {
    this.known.delete(topic);
  }

  private async create(topic: string): Promise<number> {
    const admin = await this.admin();
    try {
      await admin.createTopics({
        // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which KRaft answers
        // for a moment after a create; wait below instead.
        waitForLeaders: false,
        topics: [
          {
            topic,
            numPartitions: this.settings.partitions,
            ...(this.settings.replicationFactor ? { replicationFactor: this.settings.replicationFactor } : {}),
            configEntries: topicConfigEntries(topic, this.settings.retention),
          },
        ],
      });
    } catch (error) {
      // Created concurrently by another client: fine.
      if (!hasErrorType(error, 'TOPIC_ALREADY_EXISTS')) throw error;
    }
    return this.waitForLeaders(admin, topic);
  }

  /**
   * The partition count once every partition has a leader that answers for it (it may exist
   * with another count than ours). Right after a create, KRaft brokers list a leader in the
   * metadata a moment before that leader serves the partition: ListOffsets is the probe.
   */
  private async waitForLeaders(admin: Admin, topic: string): Promise<number> {
    const deadline = Date.now() + leaderWaitMs;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((partition) => partition.leader >= 0)) {
          await admin.fetchTopicOffsets(topic);
          return partitions.length;
        }
      } catch (error) {
        // kafkajs's fetchTopicOffsets throws a TypeError ("Cannot destructure property
        // 'partitions' of 'high.pop(...)'") when the broker's answer does not list the brand-new
        // topic yet: as transient as the typed errors.
        const transient = isTransientTopicError(error) || error instanceof TypeError;
        if (!transient || Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after ${leaderWaitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

const leaderWaitMs = 15_000;

const transientTypes = ['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'REPLICA_NOT_AVAILABLE'];

/** Errors of a topic that is being created or moving leaders: worth trying again shortly. */
export function isTransientTopicError(error: unknown): boolean {
  return hasErrorType(error, ...transientTypes);
}

/** Runs `operation`, again after short pauses while it fails with a transient topic error (up to ~5 s). */
export async function retryTransient<T>(operation: () => Promise<T>): Promise<T> {
  for (let wait = 50; ; wait *= 2) {
    try {
      return await operation();
    } catch (error) {
      // kafkajs's fetchTopicOffsets throws a TypeError while a new topic has no metadata yet.
      const transient = isTransientTopicError(error) || (error instanceof TypeError && /destructure property 'partitions'/.test(error.message));
      if (!transient || wait > 2_000) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Whether a kafkajs error (or one it wraps, e.g. in createTopics) has one of these protocol error types. */
function hasErrorType(error: unknown, ...types: string[]): boolean {
  const candidate = error as { type?: string; errors?: unknown[]; cause?: unknown } | null;
  if (!candidate) return false;
  if (candidate.type && types.includes(candidate.type)) return true;
  if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => hasErrorType(inner, ...types))) return true;
  return candidate.cause !== undefined && hasErrorType(candidate.cause, ...types);
}
