import type { TransportCapabilities } from './capabilities.js';
import type { DecodeError } from './errors/decode-error.js';
import type { Envelope, EnvelopeInput } from './envelope.js';
import type { ConsumerLag, LagQuery } from './lag.js';

/**
 * The transport contract. Every backend (memory, Kafka, Redis Streams, NATS JetStream)
 * implements it, declares in `capabilities` what it provides natively, emulates or lacks,
 * and is checked by the one conformance suite in `test/`.
 *
 * The rules, which every adapter honours unless its capabilities say otherwise:
 * - At-least-once: a message is acknowledged only after its handler succeeded. A member
 *   that dies holding unacknowledged messages has them redelivered to another member.
 * - Per-key order: messages with the same key are handled in publish order, one at a time,
 *   also across redelivery and rebalance. Different keys are handled concurrently.
 * - Groups: members of one group compete (each message to one member); each group sees
 *   every message. A group created before a publish gets that message.
 * - Backpressure: at most `maxInFlight` messages and about `maxInFlightBytes` bytes per
 *   subscription are held in memory; a slow handler slows intake and never causes drops or
 *   unbounded buffering.
 * - Limits: an envelope over `maxEnvelopeBytes` is refused at publish; a foreign record over
 *   it is dead-lettered undecoded.
 */
export interface Transport {
  /** Backend name: `memory`, `kafka`, `redis-streams`, `nats`. */
  readonly backend: string;
  readonly capabilities: TransportCapabilities;

  /**
   * Connects (clients are otherwise created lazily on first use). Rejects with
   * `BrokerUnreachableError` naming the address when the broker does not answer in time.
   */
  connect(): Promise<void>;

  /**
   * Validates, then durably publishes one envelope to the partition of its key. Resolves
   * once the backend has accepted it durably. Rejects with `InvalidEnvelopeError` (nothing
   * sent), `PayloadTooLargeError` (encoded size over `maxEnvelopeBytes`; nothing sent) or
   * `PublishError`.
   */
  publish(topic: string, envelope: EnvelopeInput): Promise<PublishReceipt>;

  /** Publishes many envelopes; all are validated before any is sent. Order per key is kept. */
  publishBatch(topic: string, envelopes: readonly EnvelopeInput[]): Promise<PublishReceipt[]>;

  /**
   * Writes bytes as they are, bypassing the envelope codec. For interop and for testing how
   * consumers treat foreign or corrupt records (they are dead-lettered, never thrown).
   */
  publishRaw(topic: string, record: RawRecord): Promise<void>;

  /**
   * Joins `options.group` on `topic` and calls `handler` for each message. The returned
   * subscription is live (partitions are being assigned) when the promise resolves.
   * The next message of a key reaches the handler only after the previous one settled.
   */
  subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription>;

  /**
   * Reads the topic's records as stored, from `options.from` up to the end as it was when
   * the call started. Moves no group's cursor and creates no durable state: the audit trail.
   */
  replay(topic: string, options?: ReplayOptions): AsyncIterable<ReplayRecord>;

  /**
   * Where each consumer group stands: per group and partition, its acknowledged position,
   * the partition's end and the records not yet acknowledged. Reads broker state only
   * (joins no group, moves no cursor). Present when `capabilities.lag` is not `none`.
   */
  inspectLag?(query?: LagQuery): Promise<ConsumerLag[]>;

  /**
   * Closes every subscription (draining them, see `Subscription.close`) and then the
   * clients. Safe to call more than once and concurrently.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface PublishReceipt {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  /** Backend position: Kafka offset, Redis stream id, JetStream sequence. */
  readonly offset: string;
}

export interface RawRecord {
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * A handler settles a delivery by calling one of ack / nack / term, or by returning
 * (= ack) or throwing (= nack with the retry policy's backoff). The first settlement wins;
 * a later call returns false and changes nothing (ack after ack returns true).
 */
export type MessageHandler = (delivery: Delivery) => void | Promise<void>;

export interface Delivery {
  readonly envelope: Envelope;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** 1 on first delivery; counts every redelivery, including after a crash where the backend tracks it. */
  readonly attempt: number;
  /** Aborted when the subscription is abandoned (crash simulation, lost lease, close timeout). */
  readonly signal: AbortSignal;
  ack(): boolean;
  /** Redeliver no earlier than `delayMs` (default: the retry policy's backoff). */
  nack(options?: { delayMs?: number; error?: unknown }): boolean;
  /** Never redeliver: the message is settled as it is (no dead letter); `reason` is for logs. */
  term(reason?: string): boolean;
}

export interface RetryPolicy {
  /** Deliveries before the message is dead-lettered. Default 5. */
  readonly maxAttempts: number;
  /** Delay before the 2nd delivery, doubling up to `maxDelayMs`. Default 100 ms. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Share of each backoff added at random (0 to this), so retries spread out. Default 0.2. */
  readonly jitter?: number;
  /**
   * Deliveries without a verdict — the handler never answered: its process died holding the
   * message — after which the message is dead-lettered as a crash loop instead of run again.
   * Default `maxAttempts` where the transport counts only attempts that ran (memory), and
   * 2 × `maxAttempts` where the broker counts every delivery (Redis Streams, NATS), also those
   * a rebalance or a broker restart handed on before they ran: a message that never killed
   * anyone must not reach the limit by bad luck alone. Kafka keeps no count.
   */
  readonly maxDeliveries?: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 30_000, jitter: 0.2 };

export interface SubscribeOptions {
  /** Consumer group. Members of one group share the work; each group sees every message. */
  readonly group: string;
  /** Messages held in memory by this subscription at once. Default 64. */
  readonly maxInFlight?: number;
  /**
   * Encoded bytes held in memory by this subscription at once, beside the count. Default
   * 64 MiB. One record is always admitted however large (up to `maxEnvelopeBytes`); backends
   * that fetch in batches size a batch by the average record seen, so the bound holds within
   * about one record.
   */
  readonly maxInFlightBytes?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Where exhausted and undecodable messages go. Default `<topic>.dlq`; `false` drops them after logging. */
  readonly deadLetterTopic?: string | false;
  /** Where a group that has no cursor yet starts. Default `earliest`. */
  readonly startFrom?: 'earliest' | 'latest';
  /**
   * Per-process state: the group lives only as long as this subscription. The adapter makes
   * the name unique (`Subscription.group` is the broker-side name), removes the group's broker
   * state on close, and a process that dies without closing leaves state the backend expires
   * or the next subscriber of the topic sweeps within the transport's reclaim time. Use it for
   * cursors nobody resumes (replies, cancels, announcements); never for work.
   */
  readonly ephemeral?: boolean;
  /**
   * Told of each message of this subscription the transport dead-lettered (or dropped, with
   * `deadLetterTopic: false`) because no handler settled it: retries exhausted, a crash loop,
   * undecodable or oversized bytes. Called after the dead letter is written and before the
   * record is settled, so a crash in between tells it again on redelivery. For the
   * subscriber's own follow-up: the agent runtime answers the request's caller. A hook that
   * throws or takes longer than the dead-letter timeout is reported (`dead-letter-failed`)
   * and does not hold the record.
   */
  readonly onDeadLetter?: (notice: DeadLetterNotice) => void | Promise<void>;
}

/** Why the transport dead-lettered a message (`DeadLetterNotice.cause`). */
export type DeadLetterCause = 'exhausted' | 'crash-loop' | 'undecodable' | 'too-large';

export interface DeadLetterNotice {
  /**
   * `exhausted`: the handler failed `maxAttempts` times. `crash-loop`: delivered more than
   * `maxAttempts` times without a verdict (its holders kept dying; the handler never saw the
   * last delivery). `undecodable` / `too-large`: bytes no handler could be given.
   */
  readonly cause: DeadLetterCause;
  /** The reason written into the dead letter. */
  readonly reason: string;
  /** The message, when it could be decoded. */
  readonly envelope?: Envelope;
  readonly partition: number;
  readonly offset: string;
  /** Deliveries counted, as the backend knows them. */
  readonly attempts: number;
  /** Where the dead letter went; `false` when it was dropped (no topic, or it could not be written). */
  readonly deadLetterTopic: string | false;
  readonly error: unknown;
}

export interface Subscription {
  readonly topic: string;
  readonly group: string;
  /** Partitions this member holds now. */
  assignedPartitions(): readonly number[];
  /**
   * Stops intake, lets in-flight handlers finish for up to `drainTimeoutMs` (default
   * 30 s), acknowledges what finished, then leaves the group. Handlers still running after
   * that are abandoned: their messages stay unacknowledged and are redelivered elsewhere.
   * `drainTimeoutMs: 0` abandons at once — what a crashed member does.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  readonly drainTimeoutMs?: number;
}

export type ReplayFrom = { readonly beginning: true } | { readonly partition: number; readonly offset: string } | { readonly timestamp: Date | number };

export interface ReplayOptions {
  /** Default: the beginning. An offset reads that one partition from that offset on. */
  readonly from?: ReplayFrom;
  /** Only records with this key (reads just the key's partition). */
  readonly key?: string;
}

export interface ReplayRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Broker append time, ms since the epoch. */
  readonly timestamp: number;
  readonly key: string;
  /** Present when the bytes decoded; otherwise `error` says why. */
  readonly envelope?: Envelope;
  readonly error?: DecodeError;
}
