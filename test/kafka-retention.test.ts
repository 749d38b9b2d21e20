import { randomUUID } from 'node:crypto';
import { createKafkaTransport, type KafkaTransport } from '@a2a-bus/kafka';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { textMessage } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';
import { KafkaRetentionRounds, RECHECK_ROUNDS } from '../packages/kafka/src/retention.js';
import { ageRetentionCases } from './src/retention-cases.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const [host, port] = brokers[0]!.split(':');
const skipReason = await requireBroker('Kafka', host!, Number(port));
const ns = `ret-${randomUUID().slice(0, 8)}`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

if (skipReason) skippedSuite('[kafka] retention', skipReason);
else {
  const transport = createKafkaTransport({
    brokers,
    partitions: 1,
    retention: { topics: { [`${ns}.keep-all`]: false, [`${ns}.short`]: { maxAgeMs: 60_000 } } },
  });
  // segment.ms per topic (undefined: not set on the topic), as documented; retention.ms is
  // always -1: the transport trims, the broker must not delete what a group has not committed.
  const expected: Record<string, string | undefined> = {
    [`${ns}.tasks.echo`]: String(DAY),
    [`${ns}.workflows`]: String(DAY),
    [`${ns}.registry`]: String(HOUR),
    [`${ns}.control`]: String(HOUR),
    [`${ns}.replies`]: String(DAY),
    [`${ns}.keep-all`]: undefined,
    [`${ns}.short`]: '60000',
  };
  const trimmed: string[] = [];
  const transports: KafkaTransport[] = [transport];
  afterAll(async () => {
    await Promise.allSettled([...Object.keys(expected), ...trimmed].map((topic) => transport.deleteTopic(topic)));
    await Promise.all(transports.map((t) => t.close({ drainTimeoutMs: 0 })));
  });

  it('[kafka] topics are created with the documented configs (describeConfigs): delete policy, no broker age limit, segment.ms', async () => {
    for (const topic of Object.keys(expected)) await transport.publish(topic, textMessage('k', 'x'));
    const admin = await transport.admin();
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: Object.keys(expected).map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'retention.ms', 'segment.ms', 'message.timestamp.type'],
      })),
    });
    for (const resource of resources) {
      const config = new Map(resource.configEntries.map((entry) => [entry.configName, entry]));
      expect({
        topic: resource.resourceName,
        policy: config.get('cleanup.policy')?.configValue,
        retentionMs: config.get('retention.ms')?.configValue,
        // A value set on the topic is not a default; segment.ms unset falls back to the broker's.
        segmentMs: config.get('segment.ms')?.isDefault ? undefined : config.get('segment.ms')?.configValue,
        timestamps: config.get('message.timestamp.type')?.configValue,
      }).toEqual({
        topic: resource.resourceName,
        policy: 'delete',
        retentionMs: '-1',
        segmentMs: expected[resource.resourceName],
        timestamps: 'LogAppendTime',
      });
    }
    expect(resources).toHaveLength(Object.keys(expected).length);
  }, 60_000);

  it('[kafka] a bad retention option is refused naming the field', () => {
    expect(() => createKafkaTransport({ brokers, retention: { maxAgeMs: 5 } })).toThrow(/retention\.maxAgeMs/);
    expect(() => createKafkaTransport({ brokers, retention: { intervalMs: 5 } })).toThrow(/retention\.intervalMs/);
  });

  it('[kafka] a retention round asks few groups: those reading the topics each round, every other group within RECHECK_ROUNDS rounds, and counts a foreign group that starts reading later', async () => {
    const topic = `${ns}.rounds`;
    const other = `${ns}.rounds-other`;
    trimmed.push(topic, other);
    await transport.publishBatch(
      topic,
      Array.from({ length: 10 }, (_, j) => textMessage('k', `r${j}`)),
    );
    await transport.publish(other, textMessage('k', 'o'));
    const admin = await transport.admin();
    const idle = Array.from({ length: 12 }, (_, j) => `${ns}-idle-${j}`);
    const reader = `${ns}-reader`;
    const late = `${ns}-late`;
    // setOffsets joins each group with a consumer for a moment: one at a time would take minutes.
    await Promise.all([
      ...[...idle, late].map((groupId) => admin.setOffsets({ groupId, topic: other, partitions: [{ partition: 0, offset: '1' }] })),
      admin.setOffsets({ groupId: reader, topic, partitions: [{ partition: 0, offset: '2' }] }),
    ]);

    const asked: string[] = [];
    const counting = new Proxy(admin, {
      get: (target, name, receiver) => {
        if (name !== 'fetchOffsets') return Reflect.get(target, name, receiver);
        return (query: Parameters<typeof admin.fetchOffsets>[0]) => {
          asked.push(query.groupId);
          return target.fetchOffsets(query);
        };
      },
    });
    const rounds = new KafkaRetentionRounds();
    const young = new Map([[topic, DAY]]); // nothing is old: the rounds only learn the groups
    const mine = (ids: string[]): string[] => ids.filter((id) => id.startsWith(ns));
    await rounds.trim(counting, young, Date.now());
    expect(new Set(mine(asked))).toEqual(new Set([...idle, late, reader])); // all new: every one asked
    // The late group, seen reading nothing here, starts reading the topic.
    await admin.setOffsets({ groupId: late, topic, partitions: [{ partition: 0, offset: '5' }] });
    const listed = (await admin.listGroups()).groups.length;
    const askedLater = new Set<string>();
    for (let round = 0; round < RECHECK_ROUNDS; round += 1) {
      asked.length = 0;
      await rounds.trim(counting, young, Date.now());
      expect(asked).toContain(reader);
      // The two readers, a tenth of the rest, and one group made meanwhile by someone else.
      expect(asked.length).toBeLessThanOrEqual(2 + Math.ceil(listed / RECHECK_ROUNDS) + 1);
      for (const id of mine(asked)) askedLater.add(id);
    }
    expect(askedLater).toEqual(new Set([...idle, late, reader]));
    expect(asked).toContain(late); // reading now: asked every round

    // Everything old now: the cut stops at the lowest commit, the reader's 2; once the reader
    // has read all, at the late group's 5 (a round that had not learned it would cut at 10).
    const old = new Map([[topic, 1_000]]);
    await rounds.trim(counting, old, Date.now() + DAY);
    expect((await admin.fetchTopicOffsets(topic))[0]).toMatchObject({ low: '2', high: '10' });
    await admin.setOffsets({ groupId: reader, topic, partitions: [{ partition: 0, offset: '10' }] });
    await rounds.trim(counting, old, Date.now() + DAY);
    expect((await admin.fetchTopicOffsets(topic))[0]).toMatchObject({ low: '5', high: '10' });
    await admin.deleteGroups([...idle, late, reader]);
  }, 60_000);

  ageRetentionCases({
    name: 'kafka',
    transport: () => {
      const t = createKafkaTransport({ brokers, partitions: 2, retention: { maxAgeMs: 1_000, intervalMs: 200 } });
      transports.push(t);
      return t;
    },
    stored: async (topic) => {
      const offsets = await (await transport.admin()).fetchTopicOffsets(topic);
      return offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
    },
    cleanup: (topic) => void trimmed.push(topic),
  });
}
