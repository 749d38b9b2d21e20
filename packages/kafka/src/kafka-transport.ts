import {
  BrokerUnreachableError,
  PublishError,
  TransportClosedError,
  createEnvelope,
  silentLogger,
  type Envelope,
  type PublishReceipt,
  type ReplayRecord,
  type Transport,
} from '@a2a-bus/core';
import { encodeEnvelopeWithin, ephemeralGroupName, partitionForKey, RetentionTrimmer, safeInstrumentation, TransportLifecycle } from '@a2a-bus/core/adapter';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { kafkaCapabilities } from './capabilities.js';
import { gatedSocketFactory } from './group-gate.js';
import { deleteEphemeralGroup, sweepEphemeralGroups } from './ephemeral-groups.js';
import { KafkaRetentionRounds } from './retention.js';
import { KafkaSubscription } from './kafka-subscription.js';
import { fixKafkajsIdleTimer } from './kafkajs-idle-timer.js';
import { kafkaLag } from './lag.js';
import { kafkaLogCreator } from './log-creator.js';
import { parseKafkaOptions, type KafkaTransportOptions } from './options.js';
import { ProduceBatcher, type OutgoingRecord } from './produce-batcher.js';
import { replayTopic } from './replay.js';
import { coordinatorRefusal, securityErrorOf } from './security-errors.js';
import { TopicRegistry } from './topics.js';

/** The Kafka transport, with two extras for operations and tests. */
export interface KafkaTransport extends Transport {
  /** Deletes a topic (no-op when it does not exist). */
  deleteTopic(topic: string): Promise<void>;
  /** The connected kafkajs admin client, e.g. to read a group's committed offsets. */
  admin(): Promise<Admin>;
}

/**
 * The transport over Apache Kafka (kafkajs 2.x): a topic per a2a-bus topic, key → partition
 * with Kafka's murmur2, consumer groups with commits of the contiguous acknowledged prefix.
 * Clients connect lazily on first use, or in `connect()`.
 */
export function createKafkaTransport(options: KafkaTransportOptions = {}): KafkaTransport {
  const config = parseKafkaOptions(options);
  const logger = (config.logger ?? silentLogger).child({ transport: 'kafka' });
  const events = safeInstrumentation(config.instrumentation, logger);
  fixKafkajsIdleTimer(logger);
  const address = config.brokers.join(',');
  /** Subscriptions by Kafka group id, for the JoinGroup / LeaveGroup gate. */
  const members = new Map<string, Set<KafkaSubscription>>();
  /** What every client of this transport connects with (brokers, TLS, SASL). */
  const clientConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    ...(config.ssl !== undefined ? { ssl: config.ssl } : {}),
    ...(config.sasl ? { sasl: config.sasl } : {}),
    connectionTimeout: Math.min(config.connectTimeoutMs, 3_000),
  };
  /**
   * Which subscriptions of the group a JoinGroup / LeaveGroup is theirs: the one whose member
   * id it carries; for a JoinGroup without a known id, the subscription(s) building a join
   * (for a LeaveGroup, every one, as it cannot tell). Several consumers of one group in one
   * process share this transport's sockets.
   */
  const senders = (groupId: string, request: 'join' | 'leave', memberId: string | undefined): KafkaSubscription[] => {
    const group = [...(members.get(groupId) ?? [])];
    const byId = memberId ? group.filter((member) => member.memberId === memberId) : [];
    if (byId.length > 0) return byId;
    return request === 'join' ? group.filter((member) => member.joining) : group;
  };
  const sockets = gatedSocketFactory({
    before(groupId, request, memberId) {
      const from = senders(groupId, request, memberId);
      const waits = from
        .map((member) => (request === 'join' ? member.beforeJoin(memberId, from.length === 1) : member.beforeLeave()))
        .filter((wait) => wait !== undefined);
      return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
    },
    sent(groupId, request, socket, memberId) {
      if (request === 'join') for (const member of senders(groupId, request, memberId)) member.joinSent(socket);
    },
  });
  const kafka = new Kafka({
    socketFactory: sockets.factory,
    clientId: config.clientId,
    brokers: config.brokers,
    ...(config.ssl !== undefined ? { ssl: config.ssl } : {}),
    ...(config.sasl ? { sasl: config.sasl } : {}),
    connectionTimeout: Math.min(config.connectTimeoutMs, 3_000),
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
    logLevel: config.logger ? logLevel.INFO : logLevel.NOTHING,
    logCreator: kafkaLogCreator(logger),
  });
  const subscriptions = new Set<KafkaSubscription>();
  /** Replays being read, so close() can stop their consumers. */
  const replays = new Set<AsyncGenerator<ReplayRecord>>();
  let admin: Promise<Admin> | undefined;
  let producer: Promise<Producer> | undefined;
  let closing: Promise<void> | undefined;
  /** Sweeps of dead processes' ephemeral groups: at most one per session timeout; close waits for it. */
  let sweep: Promise<unknown> | undefined;
  let lastSweep = 0;
  const sweepStop = new AbortController();
  const sweepGoneOwners = (): void => {
    if (sweep || Date.now() - lastSweep < config.sessionTimeoutMs) return;
    lastSweep = Date.now();
    sweep = getAdmin()
      .then((client) => sweepEphemeralGroups(client, 2 * config.sessionTimeoutMs, 2 * config.sessionTimeoutMs, logger, sweepStop.signal))
      .catch((error: unknown) => logger.debug({ err: error }, 'ephemeral group sweep failed'))
      .finally(() => (sweep = undefined));
  };

  const lifecycle = new TransportLifecycle({ scope: 'kafka', address, connectTimeoutMs: config.connectTimeoutMs });
  /** Connects a kafkajs client within `connectTimeoutMs`, or fails naming the brokers; a failed client is disconnected. */
  const connectBounded = async <C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: C): Promise<C> => {
    await lifecycle.connect(
      () => client.connect(),
      () => void client.disconnect().catch(() => undefined),
      (cause) => securityErrorOf(cause, address),
    );
    return client;
  };
  const getAdmin = (): Promise<Admin> => {
    admin ??= connectBounded(kafka.admin());
    admin.catch(() => (admin = undefined));
    return admin;
  };
  const getProducer = (): Promise<Producer> => {
    producer ??= connectBounded(
      kafka.producer({
        idempotent: true,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Bounded on purpose: a publish must fail within publishTimeoutMs, not retry forever.
        retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 + Math.ceil(config.publishTimeoutMs / 2_000) },
      }),
    );
    producer.catch(() => (producer = undefined));
    return producer;
  };
  const topics = new TopicRegistry(getAdmin, { partitions: config.partitions, replicationFactor: config.replicationFactor, retention: config.retention });
  const rounds = new KafkaRetentionRounds(() => members.keys());
  const retention = new RetentionTrimmer({
    retention: config.retention,
    trim: async (targets, now) => rounds.trim(await getAdmin(), targets, now),
    logger,
    events,
    transport: 'kafka',
  });
  const discardProducer = (): void => {
    const failed = producer;
    producer = undefined;
    void failed?.then((client) => client.disconnect()).catch(() => undefined);
  };
  const batcher = new ProduceBatcher(getProducer, config.publishTimeoutMs, discardProducer);

  const assertOpen = (operation: string): void => {
    if (closing) throw new TransportClosedError('kafka', operation);
  };

  /** Sends records of one topic (all validated already); receipts in the same order. */
  const send = async (topic: string, records: ReadonlyArray<{ key: string; value: Buffer; envelope?: Envelope }>): Promise<PublishReceipt[]> => {
    const started = performance.now();
    let offsets: string[];
    let outgoing: OutgoingRecord[];
    try {
      const partitions = await topics.ensure(topic);
      retention.add(topic);
      outgoing = records.map(({ key, value }) => ({ topic, key, value, partition: partitionForKey(key, partitions) }));
      offsets = await batcher.sendAll(outgoing);
    } catch (cause) {
      if (BrokerUnreachableError.isInstance(cause)) throw cause;
      throw securityErrorOf(cause, address, topic) ?? new PublishError('kafka', topic, { cause });
    }
    const durationMs = performance.now() - started;
    return records.map(({ key, value, envelope }, index) => {
      const partition = outgoing[index]!.partition;
      const id = envelope?.id ?? '';
      if (envelope) events.onPublish({ transport: 'kafka', topic, partition, key, id, bytes: value.length, durationMs });
      return { id, topic, partition, offset: offsets[index]! };
    });
  };

  const publish = async (topic: string, input: Parameters<Transport['publish']>[1]): Promise<PublishReceipt> => {
    assertOpen('publish');
    const envelope = createEnvelope(input);
    const [receipt] = await send(topic, [{ key: envelope.key, value: encodeEnvelopeWithin(envelope, config.maxEnvelopeBytes, 'kafka', topic), envelope }]);
    return receipt!;
  };

  const transport: KafkaTransport = {
    backend: 'kafka',
    capabilities: kafkaCapabilities,

    async connect() {
      assertOpen('connect');
      await Promise.all([getAdmin(), getProducer()]);
    },

    publish,

    async publishBatch(topic, inputs) {
      assertOpen('publish');
      const envelopes = inputs.map((input) => createEnvelope(input));
      if (envelopes.length === 0) return [];
      const records = envelopes.map((envelope) => ({
        key: envelope.key,
        value: encodeEnvelopeWithin(envelope, config.maxEnvelopeBytes, 'kafka', topic),
        envelope,
      }));
      return send(topic, records);
    },

    async publishRaw(topic, record) {
      assertOpen('publish');
      const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
      await send(topic, [{ key: record.key, value }]);
    },

    async subscribe(topic, handler, options) {
      assertOpen('subscribe');
      const partitions = await topics.ensure(topic).catch((cause: unknown) => {
        throw securityErrorOf(cause, address, topic) ?? cause;
      });
      const ephemeral = options.ephemeral ?? false;
      const group = ephemeral ? ephemeralGroupName(options.group) : options.group;
      const groupId = config.groupId(group, topic);
      if (ephemeral) sweepGoneOwners();
      const subscription = new KafkaSubscription(
        topic,
        handler,
        { ...options, group },
        {
          kafka,
          admin: getAdmin,
          groupId,
          config,
          logger: logger.child({ topic, group: options.group }),
          events,
          partitions,
          publishDeadLetter: async (deadLetterTopic, envelope) => {
            await publish(deadLetterTopic, envelope);
          },
          onClosed: async (closed) => {
            subscriptions.delete(closed);
            members.get(groupId)?.delete(closed);
            // Nothing of an ephemeral group outlives its subscription: no group, no offsets.
            if (ephemeral) await deleteEphemeralGroup(await getAdmin(), groupId, logger);
          },
        },
      );
      subscriptions.add(subscription);
      if (!members.has(groupId)) members.set(groupId, new Set());
      members.get(groupId)!.add(subscription);
      try {
        await subscription.start(config.connectTimeoutMs + config.rebalanceTimeoutMs);
      } catch (cause) {
        subscriptions.delete(subscription);
        members.get(groupId)?.delete(subscription);
        const refused =
          securityErrorOf(cause, address, `${topic} (group ${groupId})`) ??
          ((cause as Error | undefined)?.name === 'KafkaJSGroupCoordinatorNotFound'
            ? securityErrorOf(await coordinatorRefusal(clientConfig, groupId, config.connectTimeoutMs), address, `${groupId}`)
            : undefined);
        if (refused) throw refused;
        if (isConnectionFailure(cause)) throw new BrokerUnreachableError('kafka', address, config.connectTimeoutMs, { cause });
        throw cause;
      }
      return subscription;
    },

    replay(topic, options) {
      assertOpen('replay');
      const reader = replayTopic({ kafka, admin: getAdmin, topics, config, logger }, topic, options);
      replays.add(reader);
      return (async function* () {
        try {
          yield* reader;
        } finally {
          replays.delete(reader);
        }
      })();
    },

    async deleteTopic(topic) {
      assertOpen('delete a topic');
      const client = await getAdmin();
      topics.forget(topic);
      retention.forget(topic);
      if (!(await client.listTopics()).includes(topic)) return;
      await client.deleteTopics({ topics: [topic] });
    },

    admin() {
      assertOpen('use the admin client');
      return getAdmin();
    },

    async inspectLag(query = {}) {
      assertOpen('inspect lag');
      return kafkaLag(await getAdmin(), config.groupId, query);
    },

    close(closeOptions) {
      closing ??= (async () => {
        await Promise.all([...subscriptions].map((subscription) => subscription.close(closeOptions)));
        sweepStop.abort();
        await sweep;
        await retention.close();
        await Promise.allSettled([...replays].map((reader) => reader.return(undefined)));
        const clients = await Promise.allSettled([producer, admin].filter((client) => client !== undefined));
        await Promise.all(clients.map((client) => (client.status === 'fulfilled' ? client.value.disconnect().catch(() => undefined) : undefined)));
        // What disconnect() left behind: connections of a failed connect still waiting for an answer.
        sockets.destroyAll();
      })();
      return closing;
    },
  };
  return transport;
}

function isConnectionFailure(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return /Connection|NumberOfRetriesExceeded|BrokerNotFound|NoBrokerAvailable/.test(name);
}
