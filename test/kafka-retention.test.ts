import { randomUUID } from 'node:crypto';
import { createKafkaTransport, type KafkaTransport } from '@a2a-bus/kafka';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { textMessage } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';
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
