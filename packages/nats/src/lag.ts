import type { ConsumerLag, LagQuery } from '@a2a-bus/core';
import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { fromToken, type NatsNames } from './names.js';
import { isNotFound } from './topics.js';

const durablePattern = /^(.*)--p(\d+)$/;

/**
 * Consumer info of each durable (group, partition) consumer: num_pending (not yet
 * delivered) + num_ack_pending (delivered, unacked) = lag; ack floor = committed; the
 * partition subject's last sequence = end. Replay's ephemeral consumers are left out.
 */
export async function natsLag(jsm: JetStreamManager, names: NatsNames, query: LagQuery): Promise<ConsumerLag[]> {
  const streams = query.topic !== undefined ? [names.stream(query.topic)] : await topicStreams(jsm, names);
  const result: ConsumerLag[] = [];
  for (const stream of streams) {
    const topic = fromToken(stream.slice(names.prefix.length + 1));
    const consumers: ConsumerInfo[] = [];
    try {
      for await (const info of jsm.consumers.list(stream)) consumers.push(info);
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    const ends = new Map<number, Promise<string | null>>();
    for (const info of consumers) {
      const match = durablePattern.exec(info.name);
      if (!match || !info.config.durable_name) continue;
      const group = fromToken(match[1]!);
      if (query.group !== undefined && group !== query.group) continue;
      const partition = Number(match[2]);
      if (!ends.has(partition)) ends.set(partition, lastSequence(jsm, stream, names.subject(topic, partition)));
      result.push({
        topic,
        group,
        partition,
        committed: info.ack_floor.stream_seq > 0 ? String(info.ack_floor.stream_seq) : null,
        end: await ends.get(partition)!,
        lag: info.num_pending + info.num_ack_pending,
        pending: info.num_ack_pending,
        redelivered: info.num_redelivered,
      });
    }
  }
  return result.sort((a, b) => a.topic.localeCompare(b.topic) || a.group.localeCompare(b.group) || a.partition - b.partition);
}

/** Every topic stream under the prefix (the lease stream excluded). */
async function topicStreams(jsm: JetStreamManager, names: NatsNames): Promise<string[]> {
  const found: string[] = [];
  for await (const info of jsm.streams.list()) {
    const name = info.config.name;
    if (name.startsWith(`${names.prefix}_`) && name !== names.leaseStream) found.push(name);
  }
  return found.sort();
}

async function lastSequence(jsm: JetStreamManager, stream: string, subject: string): Promise<string | null> {
  try {
    const message = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    return message ? String(message.seq) : null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}
