import { randomUUID } from 'node:crypto';
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, ProduceAcks, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { latencyRow, waitUntil } from './harness.js';
import type { KafkaBenchContext } from './kafka-kafkajs.js';
import { rawJson } from './payload.js';
import type { BenchRow } from './types.js';

/**
 * Raw @platformatic/kafka rows (the maintained pure-TypeScript client) beside kafkajs: an
 * idempotent producer (acks=all) sending batches of `chunk`, a group consumer reading its
 * stream's 'data' events, offsets autocommitted every 100 ms.
 */
const AUTOCOMMIT_MS = 100;

function producerOf(ctx: KafkaBenchContext): Producer<string, string, string, string> {
  return new Producer({ clientId: 'bench-raw', bootstrapBrokers: ctx.brokers, serializers: stringSerializers, idempotent: true, acks: ProduceAcks.ALL });
}

function consumerOf(ctx: KafkaBenchContext): Consumer<string, string, string, string> {
  return new Consumer({
    clientId: 'bench-raw',
    groupId: `bench-raw-pk-${randomUUID()}`,
    bootstrapBrokers: ctx.brokers,
    deserializers: stringDeserializers,
    maxWaitTime: ctx.maxWaitTimeMs,
    autocommit: AUTOCOMMIT_MS,
  });
}

const streamOptions = (topic: string) => ({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST });

export async function platformaticThroughput(ctx: KafkaBenchContext, count: number, sendsInFlight = 4): Promise<BenchRow> {
  const topic = await ctx.topic('pk-tp');
  const producer = producerOf(ctx);
  const consumer = consumerOf(ctx);
  try {
    let consumed = 0;
    const stream = await consumer.consume(streamOptions(topic));
    stream.on('data', (message) => {
      if (JSON.parse(message.value).messageId) consumed += 1;
    });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: sendsInFlight }, async () => {
        while (next < count) {
          const from = next;
          next = Math.min(count, next + ctx.chunk);
          await producer.send({ messages: Array.from({ length: next - from }, (_, j) => ({ topic, key: `wf-${(from + j) % 64}`, value: rawJson(from + j) })) });
        }
      }),
    );
    await waitUntil(() => consumed >= count, 'raw @platformatic/kafka consumer');
    const seconds = (performance.now() - started) / 1_000;
    await stream.close();
    const note = `${ctx.partitions} partitions, idempotent producer acks=all, send() of ${ctx.chunk} × ${sendsInFlight} in flight; stream 'data' events, maxWaitTime ${ctx.maxWaitTimeMs}, autocommit ${AUTOCOMMIT_MS} ms; JSON.stringify/parse`;
    return {
      backend: 'kafka',
      client: 'raw @platformatic/kafka',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note,
    };
  } finally {
    await consumer.close(true);
    await producer.close();
  }
}

export async function platformaticLatency(ctx: KafkaBenchContext, rounds: number): Promise<BenchRow[]> {
  const [requests, replies] = await Promise.all([ctx.topic('pk-req'), ctx.topic('pk-rep')]);
  const producer = producerOf(ctx);
  const server = consumerOf(ctx);
  const caller = consumerOf(ctx);
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let sentAt = 0;
  let replied: (() => void) | undefined;
  try {
    const serverStream = await server.consume(streamOptions(requests));
    serverStream.on('data', (message) => {
      const request = JSON.parse(message.value) as { messageId: string };
      oneWay.push(performance.now() - sentAt);
      void producer.send({
        messages: [{ topic: replies, key: message.key, value: JSON.stringify({ messageId: request.messageId, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] }) }],
      });
    });
    const callerStream = await caller.consume(streamOptions(replies));
    callerStream.on('data', (message) => {
      JSON.parse(message.value);
      replied?.();
    });
    const started = performance.now();
    for (let i = 0; i < rounds; i += 1) {
      const done = new Promise<void>((resolve) => (replied = resolve));
      sentAt = performance.now();
      await producer.send({ messages: [{ topic: requests, key: `wf-${i % 16}`, value: rawJson(i) }] });
      await done;
      roundTrip.push(performance.now() - sentAt);
    }
    const seconds = (performance.now() - started) / 1_000;
    await Promise.all([serverStream.close(), callerStream.close()]);
    const note = `idempotent producer acks=all, stream 'data' events, maxWaitTime ${ctx.maxWaitTimeMs}`;
    return [
      latencyRow('kafka', 'raw @platformatic/kafka', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, note),
      latencyRow('kafka', 'raw @platformatic/kafka', 'round trip request→reply, sequential', roundTrip, seconds, note, 'round-trip'),
    ];
  } finally {
    await Promise.all([server.close(true), caller.close(true)]);
    await producer.close();
  }
}
