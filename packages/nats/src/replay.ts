import { decodeEnvelope, type ReplayOptions, type ReplayRecord } from '@a2a-bus/core';
import { partitionForKey } from '@a2a-bus/core/adapter';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsClients } from './connection.js';
import type { NatsNames } from './names.js';
import { KEY_HEADER } from './subscription.js';
import type { TopicRegistry } from './topics.js';

const BATCH = 512;

/**
 * Reads a topic through an ephemeral, ack-less consumer (no durable state, no group cursor
 * touched) from the start point up to the stream's last sequence when the call started.
 * The consumer is deleted afterwards, and the server drops it anyway once idle.
 */
export async function* replayTopic(input: {
  clients: NatsClients;
  topics: TopicRegistry;
  names: NatsNames;
  topic: string;
  options: ReplayOptions;
  /** The topic's stream as it was when replay was called; undefined when it does not exist. */
  stream: StreamInfo | undefined;
}): AsyncGenerator<ReplayRecord> {
  const { clients, topics, names, topic, options, stream } = input;
  if (!stream || stream.state.messages === 0) return;
  const partitions = (await topics.ensure(topic)).partitions;
  const endSeq = stream.state.last_seq;
  const from = options.from ?? { beginning: true };

  let partition: number | undefined;
  if (options.key !== undefined) partition = partitionForKey(options.key, partitions);
  if ('partition' in from) {
    if (partition !== undefined && partition !== from.partition) return; // the key lives elsewhere
    partition = from.partition;
  }
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.None,
    filter_subject: partition === undefined ? names.topicSubjects(topic) : names.subject(topic, partition),
    inactive_threshold: nanos(30_000),
    mem_storage: true,
    num_replicas: 1,
    ...('partition' in from
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, Number(from.offset)) }
      : 'timestamp' in from
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.timestamp).toISOString() }
        : { deliver_policy: DeliverPolicy.All }),
  };
  const info = await clients.jsm.consumers.add(stream.config.name, config);
  try {
    if (info.num_pending === 0) return;
    const consumer = await clients.js.consumers.get(stream.config.name, info.name);
    for (;;) {
      const messages = await consumer.fetch({ max_messages: BATCH, expires: 1_000 });
      let received = 0;
      let done = false;
      for await (const message of messages) {
        received += 1;
        if (message.seq > endSeq) {
          done = true;
          break;
        }
        const key = message.headers?.get(KEY_HEADER) ?? '';
        if (options.key === undefined || key === options.key) {
          const decoded = decodeEnvelope(message.data);
          yield {
            topic,
            partition: Number(message.subject.slice(message.subject.lastIndexOf('.') + 1)),
            offset: String(message.seq),
            timestamp: Math.floor(message.info.timestampNanos / 1_000_000),
            key: decoded.ok ? decoded.envelope.key : key,
            ...(decoded.ok ? { envelope: decoded.envelope } : { error: decoded.error }),
          };
        }
        if (message.seq >= endSeq || message.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (done || received === 0) {
        messages.stop();
        return;
      }
    }
  } finally {
    await clients.jsm.consumers.delete(stream.config.name, info.name).catch(() => undefined);
  }
}
