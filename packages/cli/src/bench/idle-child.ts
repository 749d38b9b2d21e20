/**
 * One idle agent process for the idle benchmark (`idle.ts` starts one per row): sets up the
 * named client, waits for it to settle, then reports the CPU time it used over
 * `seconds` of wall-clock time as one JSON line on stdout, and exits.
 * argv: <backend> <client> <seconds> [transport options as JSON, for a2a-bus rows]
 */
import { randomUUID } from 'node:crypto';
import { AgentBus, type Transport } from '@a2a-bus/core';
import { deleteBusTopics } from './bus-topics.js';

const [backend = '', client = '', secondsArg = '20', optionsArg = '{}'] = process.argv.slice(2);
const tuned = JSON.parse(optionsArg) as Record<string, unknown>;
const seconds = Number(secondsArg);
/**
 * Settling before the measured window: start-up's one-off work ends, including the heap
 * shrinking collection V8 runs about 8 s after allocation stops (50-70 ms on an agent's
 * heap, a third of a 20 s window): a fleet's agents idle for hours, not for their first 20 s.
 */
const SETTLE_MS = 15_000;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const id = randomUUID().slice(0, 8);

type Stop = () => Promise<unknown>;

async function busTransport(): Promise<Transport> {
  switch (backend) {
    case 'memory':
      return (await import('@a2a-bus/memory')).createMemoryTransport();
    case 'redis-streams':
      return (await import('@a2a-bus/redis-streams')).createRedisStreamsTransport({ url: redisUrl, keyPrefix: `a2a-idle-${id}:`, ...tuned });
    case 'nats':
      return (await import('@a2a-bus/nats')).createNatsTransport({ url: natsUrl, streamPrefix: `idle${id}`, ...tuned });
    case 'kafka':
      return (await import('@a2a-bus/kafka')).createKafkaTransport({ brokers: kafkaBrokers, ...tuned });
    default:
      throw new Error(`unknown backend ${backend}`);
  }
}

/** An AgentBus with one registered agent: what an idle agent process holds open. */
async function idleAgent(): Promise<Stop> {
  const transport = await busTransport();
  const namespace = `idle-${id}`;
  const bus = new AgentBus({ transport, namespace, audit: false });
  await bus.registerAgent(
    { name: 'idle', description: 'idle', version: '1', skills: [{ id: 'idle.echo', name: 'echo', tags: [] }] },
    { 'idle.echo': () => 'ok' },
  );
  await bus.start();
  return async () => {
    await bus.close();
    await deleteBusTopics(transport, namespace, ['idle.echo']);
    await transport.close();
    if (backend === 'nats') {
      // The stream prefix is this process's own: its lease stream goes too.
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: natsUrl });
      await (await jetstreamManager(nc)).streams.delete(`idle${id}__leases`).catch(() => undefined);
      await nc.close();
    }
  };
}

/** The raw client's idle consumer: one group consumer on one topic / stream, waiting. */
async function idleRaw(): Promise<Stop> {
  if (backend === 'redis-streams') {
    const { Redis } = await import('ioredis');
    const redis = new Redis(redisUrl);
    const stream = `a2a-idle-${id}`;
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    let stopped = false;
    const loop = (async () => {
      while (!stopped) await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 500, 'BLOCK', 5_000, 'STREAMS', stream, '>');
    })();
    return async () => {
      stopped = true;
      redis.disconnect();
      await loop.catch(() => undefined);
      const admin = new Redis(redisUrl);
      await admin.unlink(stream);
      admin.disconnect();
    };
  }
  if (backend === 'nats') {
    const { AckPolicy, jetstream, jetstreamManager } = await import('@nats-io/jetstream');
    const { connect } = await import('@nats-io/transport-node');
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    const name = `idle_${id}`;
    await jsm.streams.add({ name, subjects: [`idle.${id}.>`] });
    await jsm.consumers.add(name, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const messages = await (await jetstream(nc).consumers.get(name, 'c')).consume({ callback: (m) => m.ack() });
    return async () => {
      await messages.close();
      await jsm.streams.delete(name);
      await nc.close();
    };
  }
  if (backend === 'kafka' && client.startsWith('raw kafkajs')) {
    const kafkajs = await import('kafkajs');
    const kafka = new kafkajs.Kafka({ brokers: kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `idle-${id}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const consumer = kafka.consumer({ groupId: `idle-${id}` });
    await consumer.connect();
    await consumer.subscribe({ topic });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async () => undefined });
    await joined;
    return async () => {
      await consumer.disconnect();
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    };
  }
  if (backend === 'kafka' && client === 'raw @platformatic/kafka') {
    const { Admin, Consumer, stringDeserializers } = await import('@platformatic/kafka');
    const admin = new Admin({ clientId: 'idle', bootstrapBrokers: kafkaBrokers });
    const topic = `idle-${id}`;
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    const consumer = new Consumer({ clientId: 'idle', groupId: `idle-${id}`, bootstrapBrokers: kafkaBrokers, deserializers: stringDeserializers });
    const stream = await consumer.consume({ topics: [topic] });
    stream.on('data', () => undefined);
    return async () => {
      await stream.close();
      await consumer.close(true);
      await admin.deleteTopics({ topics: [topic] });
      await admin.close();
    };
  }
  throw new Error(`no raw idle client ${client} for ${backend}`);
}

if (backend === 'kafka' && client.includes('fixed')) (await import('@a2a-bus/kafka')).fixKafkajsIdleTimer();
const stop = client.startsWith('a2a-bus') ? await idleAgent() : await idleRaw();
await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
const before = process.cpuUsage();
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
const used = process.cpuUsage(before);
const wallMs = performance.now() - started;
const cpuPercent = ((used.user + used.system) / 1_000 / wallMs) * 100;
process.stdout.write(`${JSON.stringify({ cpuPercent, wallMs })}\n`);
await stop().catch(() => undefined);
process.exit(0);
