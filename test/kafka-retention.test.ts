import { randomUUID } from 'node:crypto';
import { createKafkaTransport } from '@a2a-bus/kafka';
import { ConfigResourceTypes } from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { textMessage } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';

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
  // retention.ms, segment.ms (undefined: not set on the topic) per topic, as documented.
  const expected: Record<string, [string, string | undefined]> = {
    [`${ns}.tasks.echo`]: [String(7 * DAY), String(DAY)],
    [`${ns}.workflows`]: [String(7 * DAY), String(DAY)],
    [`${ns}.registry`]: [String(HOUR), String(HOUR)],
    [`${ns}.control`]: [String(HOUR), String(HOUR)],
    [`${ns}.replies`]: [String(DAY), String(DAY)],
    [`${ns}.keep-all`]: ['-1', undefined],
    [`${ns}.short`]: ['60000', '60000'],
  };
  afterAll(async () => {
    await Promise.allSettled(Object.keys(expected).map((topic) => transport.deleteTopic(topic)));
    await transport.close({ drainTimeoutMs: 0 });
  });

  it('[kafka] topics are created with the documented retention (describeConfigs): delete policy, retention.ms, segment.ms', async () => {
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
      const [retentionMs, segmentMs] = expected[resource.resourceName]!;
      expect({
        topic: resource.resourceName,
        policy: config.get('cleanup.policy')?.configValue,
        retentionMs: config.get('retention.ms')?.configValue,
        // A value set on the topic is not a default; segment.ms unset falls back to the broker's.
        segmentMs: config.get('segment.ms')?.isDefault ? undefined : config.get('segment.ms')?.configValue,
        timestamps: config.get('message.timestamp.type')?.configValue,
      }).toEqual({ topic: resource.resourceName, policy: 'delete', retentionMs, segmentMs, timestamps: 'LogAppendTime' });
    }
    expect(resources).toHaveLength(Object.keys(expected).length);
  }, 60_000);

  it('[kafka] a bad retention option is refused naming the field', () => {
    expect(() => createKafkaTransport({ brokers, retention: { maxAgeMs: 5 } })).toThrow(/retention\.maxAgeMs/);
  });
}
