import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { retentionForTopic, type BrokerRetention } from '@a2a-bus/core/adapter';
import type { NatsNames } from './names.js';

export interface TopicInfo {
  readonly stream: string;
  /** Fixed when the stream was created; read back from its description. */
  readonly partitions: number;
  /** Subject of each partition. */
  readonly subjects: readonly string[];
}

interface TopicStreamOptions {
  readonly partitions: number;
  readonly storage: 'file' | 'memory';
  readonly duplicateWindowMs: number;
  readonly retention: BrokerRetention;
}

const descriptionPattern = /partitions=(\d+)/;

/**
 * Creates (once per process) the stream of a topic and of the leases. A topic's partition
 * count is written into the stream description, so every client agrees on it later.
 */
export class TopicRegistry {
  private readonly topics = new Map<string, Promise<TopicInfo>>();
  private readonly resolved = new Map<string, TopicInfo>();
  private leases: Promise<void> | undefined;
  private readonly jsm: JetStreamManager;
  private readonly names: NatsNames;
  private readonly options: TopicStreamOptions;

  constructor(jsm: JetStreamManager, names: NatsNames, options: TopicStreamOptions) {
    this.jsm = jsm;
    this.names = names;
    this.options = options;
  }

  ensure(topic: string): Promise<TopicInfo> {
    let info = this.topics.get(topic);
    if (!info) {
      info = this.create(topic);
      this.topics.set(topic, info);
      info.then(
        (known) => this.resolved.set(topic, known),
        () => this.topics.delete(topic),
      );
    }
    return info;
  }

  /** The topic's info when it is already known, without waiting. */
  known(topic: string): TopicInfo | undefined {
    return this.resolved.get(topic);
  }

  /** Drops the cached stream of a topic about to be deleted. */
  async forget(topic: string): Promise<void> {
    this.topics.delete(topic);
    this.resolved.delete(topic);
  }

  /** The topic's stream as it is, or undefined when nothing was ever published to it. */
  async lookup(topic: string): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(this.names.stream(topic));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  ensureLeases(): Promise<void> {
    this.leases ??= this.createLeases();
    this.leases.catch(() => {
      this.leases = undefined;
    });
    return this.leases;
  }

  private async create(topic: string): Promise<TopicInfo> {
    const stream = this.names.stream(topic);
    const info = (partitions: number): TopicInfo => ({
      stream,
      partitions,
      subjects: Array.from({ length: partitions }, (_, p) => this.names.subject(topic, p)),
    });
    const existing = await this.lookup(topic);
    if (existing) return info(readPartitions(existing, this.options.partitions));
    const retention = retentionForTopic(this.options.retention, topic);
    // Nothing survives the age limit to be deduplicated against.
    const duplicateWindowMs = retention ? Math.min(this.options.duplicateWindowMs, retention.maxAgeMs) : this.options.duplicateWindowMs;
    try {
      await this.jsm.streams.add({
        name: stream,
        description: `a2a-bus topic ${JSON.stringify(topic)} partitions=${this.options.partitions}`,
        subjects: [this.names.topicSubjects(topic)],
        storage: this.options.storage === 'file' ? StorageType.File : StorageType.Memory,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        // No limit of the server's own: max_age would delete what consumers have not acked, a
        // count limit unread task requests under load. The transport's RetentionTrimmer
        // purges by age up to what every consumer acked (trimNatsStreams).
        max_age: 0,
        duplicate_window: nanos(duplicateWindowMs),
        num_replicas: 1,
      });
      return info(this.options.partitions);
    } catch (error) {
      // Another client created it first: use theirs.
      const raced = await this.lookup(topic);
      if (raced) return info(readPartitions(raced, this.options.partitions));
      throw error;
    }
  }

  private async createLeases(): Promise<void> {
    const name = this.names.leaseStream;
    try {
      await this.jsm.streams.info(name);
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.jsm.streams.add({
        name,
        description: 'a2a-bus group members and partition leases',
        subjects: [this.names.leaseSubjects()],
        storage: StorageType.File,
        max_msgs_per_subject: 1,
        // Records of members that died are collected after a day; live ones are rewritten every round.
        max_age: nanos(24 * 3_600_000),
        duplicate_window: nanos(60_000),
        num_replicas: 1,
      });
    } catch (error) {
      await this.jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }
}

function readPartitions(info: StreamInfo, fallback: number): number {
  const match = descriptionPattern.exec(info.config.description ?? '');
  return match ? Number(match[1]) : fallback;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10059 || error.code === 10014 || error.status === 404);
}
