import type { Clock } from '../clock.js';
import type { Envelope, EnvelopeInput } from '../envelope.js';
import type { Instrumentation } from '../instrumentation.js';
import type { Logger } from '../logger.js';
import type { MessageHandler, RetryPolicy, SubscribeOptions } from '../transport.js';

/** A record as an adapter fetched it, in partition order. */
export interface InboundRecord {
  readonly partition: number;
  readonly offset: string;
  /** The broker's key (used for undecodable records; decoded ones use the envelope's key). */
  readonly key: string;
  /**
   * Bytes to decode, or an envelope the backend holds already decoded (memory). Once the
   * bytes decode, the dispatcher puts the envelope here and their length in `bytes`: a
   * running record does not keep its bytes alive beside the envelope (a client's bytes are
   * often a slice of a whole fetched response).
   */
  value: Uint8Array | Envelope;
  /** Delivery count as the backend knows it: 1 for a first delivery. */
  readonly attempt: number;
  /**
   * Encoded size, when `value` is held decoded (otherwise the bytes' length counts). Required,
   * `undefined` until the dispatcher decodes the bytes: a property added to the record later
   * would move its fields to a separate store, 40 bytes more per record in flight.
   */
  bytes: number | undefined;
}

export type Settlement = 'ack' | 'term' | 'dead-lettered';

/** What the adapter does for the dispatcher. */
export interface DispatcherBackend<R extends InboundRecord> {
  /** Make a settlement durable: XACK, JetStream ack/term, Kafka offset mark. Errors are logged. */
  settle(record: R, settlement: Settlement): void | Promise<void>;
  /**
   * Optional: remember that `attempts` deliveries of the record failed, so a member that
   * takes the record over continues the count (memory's pending entry, a Redis XCLAIM
   * RETRYCOUNT) instead of starting again, and maxAttempts still ends in the dead letter.
   */
  recordAttempt?(record: R, attempts: number): void;
  /** Publish a dead letter durably; the record is settled only after this resolves. */
  publishDeadLetter(topic: string, envelope: EnvelopeInput): Promise<void>;
  /**
   * Called every `keepAliveMs` for records held (running or waiting for a retry), so the
   * backend does not redeliver them meanwhile (JetStream `working()`, Kafka heartbeat).
   */
  keepAlive?(records: readonly R[]): void;
  /**
   * Optional: whether this member still holds `partition` right now, on its own clock (a
   * lease renewed recently enough, a session heartbeat answered). Asked before a record
   * starts and before it settles: a member that slept through its lease (SIGSTOP, GC, a
   * partition) must not start or acknowledge anything of a partition another member may own.
   */
  holds?(partition: number): boolean;
}

export interface KeyedDispatcherOptions<R extends InboundRecord> {
  readonly transport: string;
  readonly topic: string;
  readonly group: string;
  readonly handler: MessageHandler;
  readonly maxInFlight: number;
  /** Bytes held at once, beside the count (default 64 MiB). */
  readonly maxInFlightBytes?: number | undefined;
  /** Records larger than this are dead-lettered undecoded (default 1 MiB): the transport's `maxEnvelopeBytes`. */
  readonly maxRecordBytes?: number | undefined;
  readonly retry: RetryPolicy;
  readonly deadLetterTopic: string | false;
  readonly backend: DispatcherBackend<R>;
  readonly events: Required<Instrumentation>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly keepAliveMs?: number;
  /**
   * How long a dead letter may keep failing to be written before the record is let go
   * (logged in full at error level and reported), so the key is not blocked forever. Default 30 s.
   */
  readonly deadLetterTimeoutMs?: number;
  /** The subscription's `onDeadLetter` hook: told of each dead letter before its record is settled. */
  readonly onDeadLetter?: SubscribeOptions['onDeadLetter'] | undefined;
}
