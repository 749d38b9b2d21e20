import {
  type ConsumerLag,
  type LagQuery,
  AuthorizationError,
  InvalidEnvelopeError,
  PublishError,
  TransportClosedError,
  createEnvelope,
  silentLogger,
  type CloseOptions,
  type Envelope,
  type EnvelopeInput,
  type Instrumentation,
  type Logger,
  type MessageHandler,
  type PublishReceipt,
  type RawRecord,
  type ReplayOptions,
  type ReplayRecord,
  type SubscribeOptions,
  type Subscription,
  type Transport,
  type TransportCapabilities,
} from '@a2a-bus/core';
import {
  encodeEnvelopeWithin,
  ephemeralGroupName,
  parseOptions,
  partitionForKey,
  isSilentHook,
  RetentionTrimmer,
  safeInstrumentation,
} from '@a2a-bus/core/adapter';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { natsCapabilities } from './capabilities.js';
import { connectNats, type NatsClients } from './connection.js';
import { natsLag } from './lag.js';
import { natsMsgId } from './msg-id.js';
import { NatsNames } from './names.js';
import { connectTarget, natsTransportOptionsSchema, type NatsTransportOptions, type ResolvedNatsOptions } from './options.js';
import { PubAcks } from './pub-acks.js';
import { replayTopic } from './replay.js';
import { trimNatsStreams } from './retention.js';
import { KEY_HEADER, NatsSubscription } from './subscription.js';
import { TopicRegistry, isNotFound, type TopicInfo } from './topics.js';

/** The NATS JetStream transport, with one extra for operations and tests. */
export interface NatsTransport extends Transport {
  /** Deletes a topic's stream (messages and every group's consumers) and its lease records. */
  deleteTopic(topic: string): Promise<void>;
}

/**
 * a2a-bus over NATS JetStream. One stream per topic with a subject per partition
 * (`<prefix>.t.<topic>.<partition>`), one durable pull consumer per (group, partition),
 * partitions shared among a group's members by leases kept on a JetStream stream.
 */
class NatsTransportImpl implements NatsTransport {
  readonly backend = 'nats';
  readonly capabilities: TransportCapabilities;
  private readonly options: ResolvedNatsOptions;
  private readonly logger: Logger;
  private readonly events: Required<Instrumentation>;
  private readonly names: NatsNames;
  private readonly subscriptions = new Set<NatsSubscription>();
  private connecting: Promise<Connected> | undefined;
  private connected: Connected | undefined;
  private readonly reportsPublish: boolean;
  private readonly retrying: { timeout: number; retries: number };
  private closing: Promise<void> | undefined;
  /** Deletes old messages of the streams written to, once every consumer acked them. */
  private readonly retention: RetentionTrimmer;

  constructor(options: ResolvedNatsOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger).child({ transport: 'nats' });
    this.events = safeInstrumentation(options.instrumentation, this.logger);
    this.reportsPublish = !isSilentHook(this.events.onPublish);
    // A PubAck lost while the client reconnects would otherwise cost the whole request timeout;
    // retrying is safe because the server drops repeats of a Nats-Msg-Id.
    const attemptMs = Math.min(options.requestTimeoutMs, 2_000);
    this.retrying = { timeout: attemptMs, retries: Math.max(1, Math.floor(options.requestTimeoutMs / attemptMs)) };
    this.names = new NatsNames(options.streamPrefix);
    this.capabilities = natsCapabilities(options.storage);
    this.retention = new RetentionTrimmer({
      retention: options.retention,
      trim: async (targets, now) => trimNatsStreams((await this.ready('trim')).clients.jsm, this.names, targets, now),
      logger: this.logger,
      events: this.events,
      transport: 'nats',
    });
  }

  async connect(): Promise<void> {
    await this.ready('connect');
  }

  async publish(topic: string, input: EnvelopeInput): Promise<PublishReceipt> {
    const envelope = createEnvelope(input);
    const encoded = { envelope, bytes: encodeEnvelopeWithin(envelope, this.options.maxEnvelopeBytes, 'nats', topic) };
    // Hot path: connected and the topic known, so nothing to await but the PubAck.
    const connected = this.connected;
    const info = connected?.topics.known(topic);
    if (connected && info && !this.closing) return this.sendOne(connected, topic, info, encoded);
    const [receipt] = await this.send(topic, [encoded]);
    return receipt!;
  }

  async publishBatch(topic: string, inputs: readonly EnvelopeInput[]): Promise<PublishReceipt[]> {
    const envelopes = inputs.map((input, index) => {
      let envelope: Envelope;
      try {
        envelope = createEnvelope(input);
      } catch (error) {
        if (InvalidEnvelopeError.isInstance(error))
          throw new InvalidEnvelopeError(
            error.issues.map((issue) => `[${index}] ${issue}`),
            { cause: error },
          );
        throw error;
      }
      return { envelope, bytes: encodeEnvelopeWithin(envelope, this.options.maxEnvelopeBytes, 'nats', topic) };
    });
    return this.send(topic, envelopes);
  }

  async publishRaw(topic: string, record: RawRecord): Promise<void> {
    const { clients, topics } = await this.ready('publish');
    const { partitions } = await topics.ensure(topic);
    this.retention.add(topic);
    const partition = partitionForKey(record.key, partitions);
    const h = natsHeaders();
    h.set(KEY_HEADER, record.key);
    try {
      await clients.js.publish(this.names.subject(topic, partition), record.value, { headers: h });
    } catch (cause) {
      throw new PublishError('nats', topic, { cause });
    }
  }

  async subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription> {
    const { clients, topics } = await this.ready('subscribe');
    const info = await topics.ensure(topic);
    await topics.ensureLeases();
    const subscription = new NatsSubscription(
      {
        clients,
        names: this.names,
        options: this.options,
        logger: this.logger,
        events: this.events,
        publishDeadLetter: (deadLetterTopic, envelope, group) => this.publishDeadLetter(deadLetterTopic, envelope, group),
        onClosed: (closed) => this.subscriptions.delete(closed),
      },
      info,
      topic,
      handler,
      options.ephemeral ? { ...options, group: ephemeralGroupName(options.group) } : options,
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close({ drainTimeoutMs: 0 }).catch(() => undefined);
      throw this.authorizationErrorOf(error) ?? error;
    }
    return subscription;
  }

  replay(topic: string, options: ReplayOptions = {}): AsyncIterable<ReplayRecord> {
    // The end is read now, at the call, not when iteration starts.
    const start = this.ready('replay').then(async ({ clients, topics }) => ({ clients, topics, stream: await topics.lookup(topic) }));
    start.catch(() => undefined); // surfaced by the iteration
    const names = this.names;
    return (async function* () {
      const { clients, topics, stream } = await start;
      yield* replayTopic({ clients, topics, names, topic, options, stream });
    })();
  }

  /** Deletes a topic's stream (messages and every group's consumers) and its lease records. */
  async deleteTopic(topic: string): Promise<void> {
    const { clients, topics } = await this.ready('delete a topic');
    await topics.forget(topic);
    this.retention.forget(topic);
    await clients.jsm.streams.delete(this.names.stream(topic)).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    await clients.jsm.streams.purge(this.names.leaseStream, { filter: this.names.leaseTopicSubjects(topic) }).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  /** Per durable (group, partition) consumer: see `natsLag`. */
  async inspectLag(query: LagQuery = {}): Promise<ConsumerLag[]> {
    const { clients } = await this.ready('inspect lag');
    return natsLag(clients.jsm, this.names, query);
  }

  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close(options)));
    await this.retention.close();
    const connected = await this.connecting?.catch(() => undefined);
    if (!connected) return;
    await connected.clients.nc.drain().catch(() => connected.clients.nc.close());
  }

  private ready(operation: string): Promise<Connected> {
    if (this.closing) return Promise.reject(new TransportClosedError('nats', operation));
    this.connecting ??= connectNats(this.options).then((clients) => {
      this.connected = {
        clients,
        topics: new TopicRegistry(clients.jsm, this.names, this.options),
        acks: new PubAcks(clients.nc, this.retrying.timeout),
      };
      void this.watchPermissions(this.connected);
      return this.connected;
    });
    const connecting = this.connecting;
    connecting.catch(() => {
      if (this.connecting === connecting) this.connecting = undefined; // let a later call try again
    });
    return connecting;
  }

  private async send(topic: string, envelopes: readonly EncodedEnvelope[]): Promise<PublishReceipt[]> {
    const connected = await this.ready('publish');
    let info: TopicInfo;
    try {
      info = await connected.topics.ensure(topic);
    } catch (cause) {
      throw new PublishError('nats', topic, { cause });
    }
    this.retention.add(topic);
    return Promise.all(envelopes.map((envelope) => this.sendOne(connected, topic, info, envelope)));
  }

  private async sendOne(connected: Connected, topic: string, info: TopicInfo, { envelope, bytes }: EncodedEnvelope): Promise<PublishReceipt> {
    const partition = partitionForKey(envelope.key, info.partitions);
    const h = natsHeaders();
    h.set(MSG_ID_HEADER, natsMsgId(envelope));
    h.set(KEY_HEADER, envelope.key);
    const started = this.reportsPublish ? performance.now() : 0;
    let seq: number;
    try {
      seq = await connected.acks.publish(info.subjects[partition]!, bytes, h, this.retrying.timeout, this.retrying.retries);
    } catch (cause) {
      throw this.authorizationErrorOf(cause) ?? new PublishError('nats', topic, { cause });
    }
    if (this.reportsPublish) {
      this.events.onPublish({
        transport: 'nats',
        topic,
        partition,
        key: envelope.key,
        id: envelope.id,
        bytes: bytes.byteLength,
        durationMs: performance.now() - started,
      });
    }
    return { id: envelope.id, topic, partition, offset: String(seq) };
  }

  /** Permission violations come on the connection: the publishes they concern fail at once, and they are logged. */
  private async watchPermissions(connected: Connected): Promise<void> {
    for await (const status of connected.clients.nc.status()) {
      if (status.type !== 'error' || status.error.name !== 'PermissionViolationError') continue;
      const { operation, subject } = status.error as Error & { operation?: string; subject?: string };
      this.logger.warn({ operation, subject }, 'the server refused an operation: not permitted for this user');
      if (operation === 'publish' && subject) connected.acks.refuse(subject, status.error);
    }
  }

  /** `AuthorizationError` for a permissions violation, naming the subject and the servers. */
  private authorizationErrorOf(error: unknown): AuthorizationError | undefined {
    if (!(error instanceof Error) || error.name !== 'PermissionViolationError') return undefined;
    const { operation = 'publish', subject = 'a subject' } = error as Error & { operation?: string; subject?: string };
    return new AuthorizationError('nats', connectTarget(this.options).servers.join(','), `${operation} to ${subject}`, { cause: error });
  }

  /** Dead letters keep the original id but deduplicate per group, so every group's copy lands. */
  private async publishDeadLetter(topic: string, input: EnvelopeInput, group: string): Promise<void> {
    const envelope = createEnvelope(input);
    const bytes = encodeEnvelopeWithin(envelope, this.options.maxEnvelopeBytes, 'nats', topic);
    const { clients, topics } = await this.ready('publish');
    const { partitions } = await topics.ensure(topic);
    this.retention.add(topic);
    const partition = partitionForKey(envelope.key, partitions);
    const h = natsHeaders();
    h.set(KEY_HEADER, envelope.key);
    await clients.js.publish(this.names.subject(topic, partition), bytes, { msgID: `dlq:${group}:${natsMsgId(envelope)}`, headers: h, ...this.retrying });
  }
}

interface EncodedEnvelope {
  readonly envelope: Envelope;
  readonly bytes: Uint8Array;
}

interface Connected {
  readonly clients: NatsClients;
  readonly topics: TopicRegistry;
  readonly acks: PubAcks;
}

/** JetStream drops a message whose id it has seen within the stream's duplicate window. */
const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * Creates a transport over NATS JetStream; connects on first use or on `connect()`. Options
 * are validated here: a bad or unknown one throws `InvalidOptionsError` naming it.
 */
export function createNatsTransport(options: NatsTransportOptions = {}): NatsTransport {
  return new NatsTransportImpl(parseOptions('nats', natsTransportOptionsSchema, options));
}
