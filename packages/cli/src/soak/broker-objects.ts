import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** Broker objects of one namespace, counted the way an operator would see them. */
export interface ObjectCount {
  readonly total: number;
  /** What was counted, for the failure message. */
  readonly detail: Record<string, number>;
}

/**
 * Redis: keys of the namespace (topic metadata, group members and leases), plus the consumer
 * groups on each partition stream. The partition streams themselves are the topics' data (a
 * shared topic's partitions appear as keys are first written to them) and are not counted.
 */
export async function countRedis(url: string, keyPrefix: string, namespace: string): Promise<ObjectCount> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await client.connect();
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${keyPrefix}{${namespace}.*`, 'COUNT', 1_000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    let groups = 0;
    let streams = 0;
    for (const key of keys) {
      if ((await client.type(key)) !== 'stream') continue;
      streams += 1;
      groups += ((await client.xinfo('GROUPS', key)) as unknown[]).length;
    }
    const kinds: Record<string, number> = {};
    for (const key of keys) {
      if (/\}:\d+$/.test(key)) continue;
      const kind = key
        .slice(keyPrefix.length)
        .replace(namespace, 'ns')
        .replace(/~eph\.[^:]+/, '~eph')
        .replace(/:\d+$/, ':n');
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    const objects = keys.length - streams;
    return { total: objects + groups, detail: { keys: objects, groups, ...kinds } };
  } finally {
    client.disconnect();
  }
}

/** NATS: the namespace's streams and their consumers (lease records are messages, not objects). */
export async function countNats(url: string, streamPrefix: string, namespace: string): Promise<ObjectCount> {
  const nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
  try {
    const jsm = await jetstreamManager(nc);
    const token = namespace.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    let streams = 0;
    let consumers = 0;
    let leaseConsumers = 0;
    for await (const stream of jsm.streams.list()) {
      const name = stream.config.name;
      const ours = name.startsWith(`${streamPrefix}_${token}`);
      if (!ours && name !== `${streamPrefix}__leases`) continue;
      let count = 0;
      for await (const _consumer of jsm.consumers.list(name)) count += 1;
      if (ours) {
        streams += 1;
        consumers += count;
      } else leaseConsumers += count;
    }
    return { total: streams + consumers + leaseConsumers, detail: { streams, consumers, leaseConsumers } };
  } finally {
    await nc.close();
  }
}

/** Kafka: the namespace's topics and the consumer groups reading them. */
export async function countKafka(brokers: string[], namespace: string): Promise<ObjectCount> {
  const admin = new Kafka({ clientId: 'hygiene-count', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    const { groups } = await admin.listGroups();
    const ours = groups.filter((g) => g.groupId.includes(namespace));
    return { total: topics.length + ours.length, detail: { topics: topics.length, groups: ours.length } };
  } finally {
    await admin.disconnect();
  }
}
