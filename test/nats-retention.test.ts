import { randomUUID } from 'node:crypto';
import { createNatsTransport, type NatsTransport } from '@a2a-bus/nats';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
// White-box: where a topic's stream lives is internal to the adapter.
import { NatsNames } from '../packages/nats/src/names.js';
import { textMessage } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';
import { ageRetentionCases } from './src/retention-cases.js';
import { deleteNatsStreams } from './src/servers/nats-streams.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const skipReason = await requireBroker('NATS', new URL(url).hostname, Number(new URL(url).port || 4222));
const streamPrefix = `ret${randomUUID().slice(0, 8)}`;
const names = new NatsNames(streamPrefix);
const ns = `ret-${randomUUID().slice(0, 8)}`;
const nanosPerMs = 1_000_000;

if (skipReason) skippedSuite('[nats] retention', skipReason);
else {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const transports: NatsTransport[] = [];
  const topics: string[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    const admin = createNatsTransport({ url, streamPrefix });
    await Promise.all(topics.map((topic) => admin.deleteTopic(topic).catch(() => undefined)));
    await Promise.all([...transports, admin].map((t) => t.close({ drainTimeoutMs: 0 })));
    await nc?.close();
    await deleteNatsStreams(url, streamPrefix); // the lease stream too: the prefix is this run's own
  });
  const transport = (options: Parameters<typeof createNatsTransport>[0] = {}): NatsTransport => {
    const t = createNatsTransport({ url, streamPrefix, partitions: 2, ...options });
    transports.push(t);
    return t;
  };

  it('[nats] streams get no max_age and no count limit (the transport trims by age, never what a consumer has not acked); duplicate window within the age limit', async () => {
    const t = transport({ retention: { topics: { [`${ns}.keep-all`]: false, [`${ns}.short`]: { maxAgeMs: 5_000 } } } });
    const windows: Record<string, number> = {
      [`${ns}.tasks.echo`]: 120_000,
      [`${ns}.registry`]: 120_000,
      [`${ns}.keep-all`]: 120_000,
      [`${ns}.short`]: 5_000,
    };
    for (const topic of Object.keys(windows)) {
      topics.push(topic);
      await t.publish(topic, textMessage('k', 'x'));
    }
    for (const [topic, windowMs] of Object.entries(windows)) {
      const { config } = await jsm.streams.info(names.stream(topic));
      expect({
        topic,
        maxAgeMs: config.max_age / nanosPerMs,
        maxMsgs: config.max_msgs,
        perSubject: config.max_msgs_per_subject,
        maxBytes: config.max_bytes,
        windowMs: config.duplicate_window / nanosPerMs,
      }).toEqual({ topic, maxAgeMs: 0, maxMsgs: -1, perSubject: -1, maxBytes: -1, windowMs });
    }
  }, 60_000);

  it('[nats] a bad retention option is refused naming the field', () => {
    expect(() => createNatsTransport({ url, retention: { intervalMs: 5 } })).toThrow(/retention\.intervalMs/);
  });

  ageRetentionCases({
    name: 'nats',
    transport: () => transport({ retention: { maxAgeMs: 1_000, intervalMs: 200 } }),
    stored: async (topic) => (await jsm.streams.info(names.stream(topic))).state.messages,
    cleanup: (topic) => void topics.push(topic),
  });
}
