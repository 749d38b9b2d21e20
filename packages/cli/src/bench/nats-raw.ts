import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, headers as makeHeaders, type NatsConnection } from '@nats-io/transport-node';
import { deadline, latencyRow, pipelined } from './harness.js';
import { rawJson } from './payload.js';
import type { BenchRow } from './types.js';

/**
 * Raw @nats-io/jetstream rows: async publish with up to `WINDOW` PubAcks pending (with a
 * Nats-Msg-Id, as a2a-bus sends, for deduplication), one durable pull consumer read by
 * `consume()` with a callback (the client's fastest loop), acks per message or, where
 * AckPolicy.All allows it, one ack per `ACK_EVERY` messages.
 */
const WINDOW = 1_000;
const MAX_MESSAGES = 1_000;
const ACK_EVERY = 256;

export interface NatsRaw {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export async function rawClients(url: string): Promise<NatsRaw> {
  const nc = await connect({ servers: url, noAsyncTraces: true });
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

async function rawStream(raw: NatsRaw, name: string, ackPolicy: AckPolicy): Promise<string> {
  const subject = `bench.${name}`;
  await raw.jsm.streams.add({ name, subjects: [`${subject}.>`], storage: StorageType.File });
  await raw.jsm.consumers.add(name, { durable_name: 'c', ack_policy: ackPolicy, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 });
  return subject;
}

export type NatsAckMode = 'explicit' | 'all';

export async function rawThroughput(raw: NatsRaw, count: number, partitions: number, ackMode: NatsAckMode): Promise<BenchRow> {
  const name = `bench_raw_tp_${randomUUID().slice(0, 8)}`;
  const subject = await rawStream(raw, name, ackMode === 'all' ? AckPolicy.All : AckPolicy.Explicit);
  try {
    const consumer = await raw.js.consumers.get(name, 'c');
    let handled = 0;
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      void consumer.consume({
        max_messages: MAX_MESSAGES,
        callback: (m) => {
          JSON.parse(m.string());
          handled += 1;
          if (ackMode === 'explicit' || handled % ACK_EVERY === 0 || handled === count) m.ack();
          if (handled === count) resolve();
        },
      });
    });
    await pipelined(count, WINDOW, (i) => raw.js.publish(`${subject}.${i % partitions}`, rawJson(i), { msgID: `${name}-${i}` }));
    await deadline(done, 'raw throughput');
    const seconds = (performance.now() - started) / 1_000;
    const acks = ackMode === 'explicit' ? 'ack() each' : `AckPolicy.All, ack() every ${ACK_EVERY}`;
    return {
      backend: 'nats',
      client: 'raw @nats-io/jetstream',
      kind: 'throughput',
      scenario: 'publish→consume→ack 1 KiB',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      note: `file stream, ${partitions} subjects, publish() with msgID × ${WINDOW} PubAcks pending, consume() max_messages ${MAX_MESSAGES}, ${acks}; JSON.stringify/parse`,
    };
  } finally {
    await raw.jsm.streams.delete(name).catch(() => undefined);
  }
}

/** One at a time: request → responder (one-way) → reply → requester (round trip). */
export async function rawLatency(raw: NatsRaw, count: number, partitions: number): Promise<BenchRow[]> {
  const id = randomUUID().slice(0, 8);
  const requests = await rawStream(raw, `bench_raw_req_${id}`, AckPolicy.Explicit);
  const replies = await rawStream(raw, `bench_raw_rep_${id}`, AckPolicy.Explicit);
  const oneWay: number[] = [];
  const roundTrip: number[] = [];
  let waiting: (() => void) | undefined;
  try {
    const serve = await (await raw.js.consumers.get(`bench_raw_req_${id}`, 'c')).consume({
      max_messages: 64,
      callback: (m) => {
        const request = JSON.parse(m.string()) as { messageId: string };
        const sent = m.headers?.get('sent') ?? '0';
        oneWay.push(performance.now() - Number(sent));
        m.ack();
        const headers = m.headers!;
        void raw.js.publish(`${replies}.0`, JSON.stringify({ messageId: request.messageId, role: 'ROLE_AGENT', parts: [{ text: 'ok' }] }), {
          headers,
          msgID: `r-${request.messageId}-${sent}`,
        });
      },
    });
    const listen = await (await raw.js.consumers.get(`bench_raw_rep_${id}`, 'c')).consume({
      max_messages: 64,
      callback: (m) => {
        JSON.parse(m.string());
        roundTrip.push(performance.now() - Number(m.headers?.get('sent')));
        m.ack();
        waiting?.();
      },
    });
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const arrived = new Promise<void>((resolve) => (waiting = resolve));
      const headers = makeHeaders();
      headers.set('sent', String(performance.now()));
      await raw.js.publish(`${requests}.${i % partitions}`, rawJson(i), { headers, msgID: `q-${id}-${i}` });
      await deadline(arrived, 'raw latency');
    }
    const seconds = (performance.now() - started) / 1_000;
    await Promise.all([serve.close(), listen.close()]);
    const note = 'file streams, consume() callback, ack() each';
    return [
      latencyRow('nats', 'raw @nats-io/jetstream', 'one-way publish→handler 1 KiB, sequential', oneWay, seconds, note),
      latencyRow('nats', 'raw @nats-io/jetstream', 'round trip request→reply, sequential', roundTrip, seconds, note, 'round-trip'),
    ];
  } finally {
    await Promise.allSettled([raw.jsm.streams.delete(`bench_raw_req_${id}`), raw.jsm.streams.delete(`bench_raw_rep_${id}`)]);
  }
}
