import { randomUUID } from 'node:crypto';
import { createNatsTransport, type NatsTransport } from '@a2a-bus/nats';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
// White-box: where a topic's stream lives is internal to the adapter.
import { NatsNames } from '../packages/nats/src/names.js';
import { delay, textMessage, waitFor } from './src/conformance/context.js';
import { requireBroker, skippedSuite } from './src/index.js';

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
  });
  const transport = (options: Parameters<typeof createNatsTransport>[0] = {}): NatsTransport => {
    const t = createNatsTransport({ url, streamPrefix, partitions: 2, ...options });
    transports.push(t);
    return t;
  };

  it('[nats] streams get the documented max_age: 7 days, registry/control 1 h, replies 1 day, overrides per topic, never a count limit', async () => {
    const t = transport({ retention: { topics: { [`${ns}.keep-all`]: false, [`${ns}.short`]: { maxAgeMs: 5_000 } } } });
    const expected: Record<string, number> = {
      [`${ns}.tasks.echo`]: 7 * 86_400_000,
      [`${ns}.workflows`]: 7 * 86_400_000,
      [`${ns}.registry`]: 3_600_000,
      [`${ns}.control`]: 3_600_000,
      [`${ns}.replies`]: 86_400_000,
      [`${ns}.keep-all`]: 0,
      [`${ns}.short`]: 5_000,
    };
    for (const topic of Object.keys(expected)) {
      topics.push(topic);
      await t.publish(topic, textMessage('k', 'x'));
    }
    for (const [topic, maxAgeMs] of Object.entries(expected)) {
      const { config } = await jsm.streams.info(names.stream(topic));
      expect({
        topic,
        maxAgeMs: config.max_age / nanosPerMs,
        maxMsgs: config.max_msgs,
        perSubject: config.max_msgs_per_subject,
        maxBytes: config.max_bytes,
      }).toEqual({
        topic,
        maxAgeMs,
        maxMsgs: -1,
        perSubject: -1,
        maxBytes: -1,
      });
      // JetStream refuses a duplicate window longer than max_age.
      if (maxAgeMs > 0) expect(config.duplicate_window).toBeLessThanOrEqual(config.max_age);
    }
  }, 60_000);

  it('[nats] with a short max_age a long run stays bounded while a live group gets every message', async () => {
    const topic = `${ns}.bounded`;
    topics.push(topic);
    const t = transport({ retention: { topics: { [topic]: { maxAgeMs: 1_000 } } } });
    const got = new Set<string>();
    await t.subscribe(topic, (d) => void got.add(d.envelope.id), { group: 'live' });
    const stream = names.stream(topic);
    let published = 0;
    let largest = 0;
    for (let round = 0; round < 30; round += 1) {
      await t.publishBatch(
        topic,
        Array.from({ length: 20 }, (_, j) => textMessage(`k${j % 5}`, `m${round}-${j}`)),
      );
      published += 20;
      await delay(150);
      largest = Math.max(largest, (await jsm.streams.info(stream)).state.messages);
    }
    await waitFor('the live group to get every message', () => got.size === published, 30_000);
    // ~130 messages a second for ~5 s; with a 1 s max_age the stream holds a couple of seconds' worth.
    expect(published).toBe(600);
    console.info(`[nats] retention run: ${published} published, at most ${largest} in the stream (max_age 1 s)`);
    expect(largest).toBeLessThan(published / 2);
    let left = -1;
    for (let tries = 0; tries < 100 && left !== 0; tries += 1) {
      await delay(100);
      left = (await jsm.streams.info(stream)).state.messages;
    }
    expect(left).toBe(0); // nothing left once every record is older than max_age
  }, 90_000);

  it('[nats] as documented, max_age deletes what a group has not read yet: a group away longer than max_age misses it', async () => {
    const topic = `${ns}.away`;
    topics.push(topic);
    const t = transport({ retention: { topics: { [topic]: { maxAgeMs: 1_000 } } } });
    const away = await t.subscribe(topic, () => {}, { group: 'away' });
    await away.close();
    await t.publishBatch(
      topic,
      Array.from({ length: 10 }, (_, j) => textMessage(`k${j}`, `old${j}`)),
    );
    await delay(2_500);
    const fresh = await t.publish(topic, textMessage('k', 'fresh'));
    const got: string[] = [];
    await t.subscribe(topic, (d) => void got.push(d.envelope.id), { group: 'away' });
    await waitFor('the fresh record', () => got.includes(fresh.id), 15_000);
    await delay(300);
    expect(got).toEqual([fresh.id]);
  }, 30_000);
}
