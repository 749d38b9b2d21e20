import type { ConsumerLag, LagQuery } from '@a2a-bus/core';
import type { Redis } from 'ioredis';
import { streamIdTime, TopicKeys } from './keys.js';

/** At most this many pending entries are read per partition to count redeliveries. */
const redeliveryScan = 1_000;

/**
 * Per group and partition stream: XINFO GROUPS (last-delivered-id, pending, lag: Redis 7.0+)
 * and XINFO STREAM (last-generated-id). Lag = undelivered (XINFO's lag) + pending.
 */
export async function redisStreamsLag(client: Redis, keyPrefix: string, query: LagQuery, now: number): Promise<ConsumerLag[]> {
  const topics = query.topic !== undefined ? [query.topic] : await listTopics(client, keyPrefix);
  const result: ConsumerLag[] = [];
  for (const topic of topics) {
    const keys = new TopicKeys(keyPrefix, topic);
    const partitions = Number(await client.get(keys.partitionCount));
    if (!Number.isInteger(partitions) || partitions < 1) continue;
    for (let partition = 0; partition < partitions; partition += 1) {
      const stream = keys.stream(partition);
      if ((await client.exists(stream)) === 0) continue;
      const info = fields(await client.xinfo('STREAM', stream));
      const end = String(info['last-generated-id'] ?? '0-0');
      for (const raw of (await client.xinfo('GROUPS', stream)) as unknown[]) {
        const group = fields(raw);
        const name = String(group.name);
        if (query.group !== undefined && name !== query.group) continue;
        result.push(await partitionLag(client, { topic, partition, stream, group: name, end, info: group, now }));
      }
    }
  }
  return result;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly stream: string;
  readonly group: string;
  readonly end: string;
  readonly info: Record<string, unknown>;
  readonly now: number;
}

async function partitionLag(client: Redis, state: PartitionState): Promise<ConsumerLag> {
  const { stream, group, info } = state;
  const lastDelivered = String(info['last-delivered-id']);
  const pending = Number(info.pending ?? 0);
  // XINFO's lag is null when entries were deleted or trimmed inside the range: count them instead.
  const undelivered = info.lag === null || info.lag === undefined ? await countAfter(client, stream, lastDelivered) : Number(info.lag);
  let redelivered = 0;
  let oldest: string | undefined;
  if (pending > 0) {
    const entries = (await client.xpending(stream, group, '-', '+', redeliveryScan)) as Array<[string, string, number, number]>;
    redelivered = entries.filter(([, , , deliveries]) => deliveries > 1).length;
    oldest = entries[0]?.[0];
  } else if (undelivered > 0) {
    oldest = ((await client.xrange(stream, `(${lastDelivered}`, '+', 'COUNT', 1)) as Array<[string, string[]]>)[0]?.[0];
  }
  return {
    topic: state.topic,
    group,
    partition: state.partition,
    committed: lastDelivered === '0-0' ? null : lastDelivered,
    end: state.end,
    lag: undelivered + pending,
    pending,
    redelivered,
    ...(oldest ? { oldestUnackedAgeMs: Math.max(0, state.now - streamIdTime(oldest)) } : {}),
  };
}

async function countAfter(client: Redis, stream: string, id: string): Promise<number> {
  return ((await client.xrange(stream, id === '0-0' ? '-' : `(${id}`, '+')) as unknown[]).length;
}

/** Topics by their partition-count keys: `<prefix>{<topic>}:partitions`. */
async function listTopics(client: Redis, keyPrefix: string): Promise<string[]> {
  const pattern = `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:partitions`;
  const topics = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    for (const key of found) topics.add(key.slice(keyPrefix.length + 1, -'}:partitions'.length));
    cursor = next;
  } while (cursor !== '0');
  return [...topics].sort();
}

/** XINFO replies are flat [name, value, name, value, ...] arrays. */
function fields(reply: unknown): Record<string, unknown> {
  const list = reply as unknown[];
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) record[String(list[i])] = list[i + 1];
  return record;
}
