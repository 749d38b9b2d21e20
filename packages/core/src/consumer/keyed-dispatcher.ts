import { sleep, type Clock } from '../clock.js';
import { decodeEnvelope, type Envelope, type EnvelopeInput } from '../envelope.js';
import { isSilentHook, type DeliveryEvent, type Instrumentation } from '../instrumentation.js';
import type { Logger } from '../logger.js';
import type { MessageHandler, RetryPolicy } from '../transport.js';
import { A2ABusError } from '../errors/a2a-bus-error.js';
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js';
import { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_IN_FLIGHT_BYTES } from '../limits.js';
import { buildDeadLetter, buildMinimalDeadLetter } from './dead-letter.js';
import { DeliveryImpl, type Outcome } from './delivery.js';

/** A record as an adapter fetched it, in partition order. */
export interface InboundRecord {
  readonly partition: number;
  readonly offset: string;
  /** The broker's key (used for undecodable records; decoded ones use the envelope's key). */
  readonly key: string;
  /** Bytes to decode, or an envelope the backend holds already decoded (memory). */
  readonly value: Uint8Array | Envelope;
  /** Delivery count as the backend knows it: 1 for a first delivery. */
  readonly attempt: number;
  /** Encoded size, when `value` is held decoded (otherwise the bytes' length counts). */
  readonly bytes?: number;
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
}

interface KeyLane<R> {
  /** The key. */
  readonly id: string;
  readonly partition: number;
  readonly records: R[];
  running: boolean;
  /** Settles when the lane's current run ends. */
  done: Promise<void>;
  /** Resolves `done`; set while the lane runs asynchronously. */
  finish?: (() => void) | undefined;
}

/**
 * Runs a subscription's handler with the transport rules every adapter shares:
 * - one message per key at a time, in partition order; different keys run concurrently;
 * - a nack holds its key (later messages of the key wait) and retries in process after
 *   the delay, so order survives redelivery; after `maxAttempts` the message is
 *   dead-lettered and the key moves on;
 * - undecodable bytes are dead-lettered with the reason, and the consumer goes on;
 * - at most `maxInFlight` records are held; adapters wait on `whenReady()` before fetching.
 *
 * Adapters feed records in partition order with `push` and make settlements durable in
 * `backend.settle`. A record that is dropped (revoked partition, abandon) is never
 * settled, so the backend redelivers it.
 */
export class KeyedDispatcher<R extends InboundRecord> {
  private readonly lanesByPartition = new Map<number, Map<string, KeyLane<R>>>();
  /** Lanes gone idle since the last sweep. */
  private idleLanes = 0;
  private held = 0;
  private heldBytes = 0;
  /** Running average of record sizes: sizes a fetch to the room left in bytes. 0 until one is seen. */
  private averageBytes = 0;
  private readonly maxInFlightBytes: number;
  private readonly maxRecordBytes: number;
  private readonly running = new Set<Promise<void>>();
  private readonly revoked = new Set<number>();
  private readonly abort = new AbortController();
  /** Settles when the dispatcher is abandoned, to stop waiting on handlers that never return. */
  private readonly abandoned: Promise<void>;
  private capacityWaiters: Array<() => void> = [];
  /** Asynchronous handler invocations still running, with their start time on the clock. */
  private readonly runningSince = new Map<DeliveryImpl, number>();
  /** Records waiting for a retry, with the switch that ends the wait early. */
  private readonly waiting = new Map<R, AbortController>();
  private keepAliveTimer: unknown;
  private closed = false;
  private readonly options: KeyedDispatcherOptions<R>;
  /** Whether any delivery hook is set: otherwise no event objects are built. */
  private readonly reporting: boolean;

  constructor(options: KeyedDispatcherOptions<R>) {
    this.options = options;
    this.maxInFlightBytes = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    const { events } = options;
    this.reporting = [events.onDeliver, events.onAck, events.onNack, events.onTerm, events.onRedeliver].some((hook) => !isSilentHook(hook));
    this.abandoned = new Promise((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    if (options.backend.keepAlive && options.keepAliveMs) this.scheduleKeepAlive(options.keepAliveMs);
  }

  /** Records held now (queued, running or waiting for a retry). */
  get inFlight(): number {
    return this.held;
  }

  /** Encoded bytes held now. */
  get inFlightBytes(): number {
    return this.heldBytes;
  }

  /**
   * Room for this many more records before the in-flight bounds: the count, and the bytes
   * left divided by the average record (the largest allowed until one was seen), at least 1.
   */
  get capacity(): number {
    const countRoom = this.options.maxInFlight - this.held;
    const bytesRoom = this.maxInFlightBytes - this.heldBytes;
    if (countRoom <= 0 || bytesRoom <= 0) return 0;
    const perRecord = this.averageBytes || this.maxRecordBytes;
    return Math.min(countRoom, Math.max(1, Math.floor(bytesRoom / perRecord)));
  }

  private hasRoom(): boolean {
    return this.held < this.options.maxInFlight && this.heldBytes < this.maxInFlightBytes;
  }

  /** Aborted when the dispatcher is abandoned: handlers should stop. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /**
   * How long the longest-running handler has been running, on the dispatcher's clock
   * (0 when none is). Backends use it to declare a member hung.
   */
  longestRunningMs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const since of this.runningSince.values()) oldest = Math.min(oldest, since);
    return oldest === Number.POSITIVE_INFINITY ? 0 : this.options.clock.now() - oldest;
  }

  /** Resolves when at least one more record may be pushed (or the dispatcher stopped). */
  whenReady(): Promise<void> {
    if (this.hasRoom() || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Hands a fetched record over. Records of one partition must be pushed in order. */
  push(record: R): void {
    if (this.closed || this.revoked.has(record.partition)) return;
    // Lanes by partition, then key: no composite string to build and hash per record.
    let byKey = this.lanesByPartition.get(record.partition);
    if (!byKey) {
      byKey = new Map();
      this.lanesByPartition.set(record.partition, byKey);
    }
    let lane = byKey.get(record.key);
    if (!lane) {
      lane = { id: record.key, partition: record.partition, records: [], running: false, done: RESOLVED };
      byKey.set(record.key, lane);
    }
    lane.records.push(record);
    const bytes = recordBytes(record);
    this.held += 1;
    this.heldBytes += bytes;
    this.averageBytes = this.averageBytes === 0 ? bytes : this.averageBytes + (bytes - this.averageBytes) / 8;
    if (!lane.running) this.start(lane);
  }

  /** Partitions assigned (again) to this member: accept their records. */
  assign(partition: number): void {
    this.revoked.delete(partition);
  }

  /**
   * The partition is leaving this member: drop its records not yet started (they stay
   * unacknowledged, so the next owner gets them) and wait for its running handlers, so
   * the next owner never runs a key concurrently with us.
   */
  async revoke(partition: number): Promise<void> {
    this.revoked.add(partition);
    for (const [record, wait] of this.waiting) if (record.partition === partition) wait.abort();
    const waits: Promise<void>[] = [];
    for (const lane of this.allLanes()) {
      if (lane.partition !== partition) continue;
      this.dropQueued(lane);
      if (lane.running) waits.push(lane.done);
    }
    await Promise.race([Promise.all(waits), this.abandoned]);
  }

  /**
   * Stops intake, drops records not started, lets running handlers finish for up to
   * `timeoutMs`, then abandons what is still running. Returns true when nothing was abandoned.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    this.releaseCapacityWaiters();
    for (const wait of this.waiting.values()) wait.abort();
    for (const lane of this.allLanes()) this.dropQueued(lane);
    if (this.running.size === 0) return this.finish(true);
    if (timeoutMs <= 0) return this.finish(false);
    const timeout = new AbortController();
    const allDone = Promise.all([...this.running]).then(() => true);
    const timedOut = sleep(this.options.clock, timeoutMs, timeout.signal).then(() => false);
    const drained = await Promise.race([allDone, timedOut]);
    timeout.abort();
    return this.finish(drained);
  }

  private finish(drained: boolean): boolean {
    if (!drained) this.abort.abort();
    for (const wait of this.waiting.values()) wait.abort();
    this.options.clock.clearTimeout(this.keepAliveTimer);
    return drained;
  }

  /** Keeps the first record of a lane whose handler is running; drops the rest. */
  private dropQueued(lane: KeyLane<R>): void {
    const keep = lane.running ? 1 : 0;
    if (lane.records.length - keep <= 0) return;
    this.release(lane.records.splice(keep));
    if (!lane.running) this.forget(lane);
  }

  private start(lane: KeyLane<R>): void {
    lane.running = true;
    this.drive(lane);
  }

  /**
   * Runs a lane's records in order. Synchronous handlers run inline, without a promise per
   * message (the hot path); the first asynchronous step continues the lane in a promise,
   * and `lane.done` settles when the lane stops running.
   */
  private drive(lane: KeyLane<R>): void {
    try {
      while (lane.records.length > 0 && !this.abort.signal.aborted) {
        const result = this.process(lane.records[0]!);
        if (typeof result !== 'boolean') {
          this.continueLater(lane, result);
          return;
        }
        this.advance(lane, result);
      }
    } catch (error) {
      this.laneFailed(lane, error);
      return;
    }
    this.stopLane(lane);
  }

  private continueLater(lane: KeyLane<R>, pending: Promise<boolean>): void {
    if (!lane.finish) {
      lane.done = new Promise<void>((resolve) => (lane.finish = resolve));
      this.running.add(lane.done);
    }
    pending.then(
      (settled) => {
        if (this.abort.signal.aborted) return this.stopLane(lane);
        this.advance(lane, settled);
        this.drive(lane);
      },
      (error: unknown) => this.laneFailed(lane, error),
    );
  }

  /** The lane's head is done: settled, or (false) left for redelivery with the rest of the lane. */
  private advance(lane: KeyLane<R>, settled: boolean): void {
    this.releaseOne(lane.records.shift());
    if (!settled) {
      // Revoked or closing while the record waited for a retry: the next owner redelivers it.
      this.release(lane.records.splice(0));
    }
  }

  private *allLanes(): Iterable<KeyLane<R>> {
    for (const byKey of this.lanesByPartition.values()) yield* byKey.values();
  }

  /**
   * An idle lane stays in its map for a while: keys usually come back, and deleting and
   * re-adding map entries per message costs more than the lane. Idle lanes are swept in bulk.
   */
  private forget(_lane: KeyLane<R>): void {
    this.idleLanes += 1;
    if (this.idleLanes < 1_024) return;
    this.idleLanes = 0;
    for (const byKey of this.lanesByPartition.values()) {
      for (const [key, lane] of byKey) if (!lane.running && lane.records.length === 0) byKey.delete(key);
    }
  }

  private stopLane(lane: KeyLane<R>): void {
    lane.running = false;
    if (lane.records.length === 0) this.forget(lane);
    const finish = lane.finish;
    if (finish) {
      this.running.delete(lane.done);
      lane.finish = undefined;
      finish();
    }
  }

  /** A bug, not a handler failure: leave the lane's records unsettled for redelivery, free the room. */
  private laneFailed(lane: KeyLane<R>, error: unknown): void {
    this.options.logger.error({ err: error, partition: lane.partition }, 'dispatcher lane failed; its records are left for redelivery');
    this.release(lane.records.splice(0));
    this.stopLane(lane);
  }

  /** Handles one record through its retries. Resolves false when it was left unsettled. */
  private process(record: R): boolean | Promise<boolean> {
    if (!isEnvelope(record.value) && record.value.byteLength > this.maxRecordBytes) {
      // Foreign bytes over the limit: not worth decoding (nor copying into the dead letter).
      const error = new PayloadTooLargeError(this.options.transport, record.value.byteLength, this.maxRecordBytes, { topic: this.options.topic });
      return this.deadLetter(record, undefined, 'too large', error, record.attempt);
    }
    const decoded = isEnvelope(record.value) ? { ok: true as const, envelope: record.value } : decodeEnvelope(record.value);
    if (!decoded.ok) return this.deadLetter(record, undefined, 'undecodable', decoded.error, record.attempt);
    if (record.attempt > this.options.retry.maxAttempts) {
      // Delivered more often than allowed without a verdict: its handler keeps killing the
      // consumer (a crash loop). Dead-letter it instead of running it again.
      const error = new Error(`delivered ${record.attempt} times, more than maxAttempts (${this.options.retry.maxAttempts}), without being settled`);
      return this.deadLetter(record, decoded.envelope, 'crash loop', error, record.attempt);
    }
    return this.attempt(record, decoded.envelope, record.attempt);
  }

  private attempt(record: R, envelope: Envelope, attempt: number): boolean | Promise<boolean> {
    const { options } = this;
    const base = this.reporting ? this.eventBase(record, envelope, attempt) : undefined;
    if (base) {
      if (attempt > 1) options.events.onRedeliver(base);
      options.events.onDeliver(base);
    }
    const delivery = new DeliveryImpl(envelope, options.topic, record.partition, record.offset, attempt, this.abort.signal);
    const started = base ? performance.now() : 0;
    let result: void | Promise<void>;
    try {
      result = options.handler(delivery);
    } catch (error) {
      return this.conclude(record, envelope, attempt, delivery.outcome ?? { type: 'nack', error }, base, started);
    }
    if (result == null || typeof (result as Promise<void>).then !== 'function') {
      return this.conclude(record, envelope, attempt, delivery.outcome ?? ACK, base, started);
    }
    this.runningSince.set(delivery, options.clock.now());
    return Promise.race([result, this.abandoned]).then(
      () => {
        this.runningSince.delete(delivery);
        return this.conclude(record, envelope, attempt, delivery.outcome ?? ACK, base, started);
      },
      (error: unknown) => {
        this.runningSince.delete(delivery);
        return this.conclude(record, envelope, attempt, delivery.outcome ?? { type: 'nack', error }, base, started);
      },
    );
  }

  /** Acts on a handler's outcome: settle, or wait and try again, or dead-letter. */
  private conclude(
    record: R,
    envelope: Envelope,
    attempt: number,
    outcome: Outcome,
    base: DeliveryEvent | undefined,
    started: number,
  ): boolean | Promise<boolean> {
    const { options } = this;
    if (this.abort.signal.aborted) return false;
    const handlerMs = base ? performance.now() - started : 0;
    if (outcome.type === 'ack' || outcome.type === 'term') {
      if (outcome.type === 'term') options.logger.debug({ id: envelope.id, partition: record.partition, reason: outcome.reason }, 'terminated: never redelivered');
      if (base) (outcome.type === 'ack' ? options.events.onAck : options.events.onTerm)({ ...base, handlerMs });
      const pending = this.settle(record, outcome.type);
      return pending ? pending.then(() => true) : true;
    }
    if (attempt >= options.retry.maxAttempts) {
      if (base) options.events.onNack({ ...base, handlerMs, delayMs: 0, error: outcome.error });
      return this.deadLetter(record, envelope, `failed after ${attempt} attempts`, outcome.error, attempt);
    }
    const delayMs = outcome.delayMs ?? backoff(options.retry, attempt);
    if (base) options.events.onNack({ ...base, handlerMs, delayMs, error: outcome.error });
    // A revoke or close cuts the wait short: the record is left for redelivery at once.
    const wait = new AbortController();
    this.waiting.set(record, wait);
    options.backend.recordAttempt?.(record, attempt);
    return sleep(options.clock, delayMs, wait.signal).then(() => {
      this.waiting.delete(record);
      if (this.abort.signal.aborted || this.revoked.has(record.partition) || this.closed) return false;
      return this.attempt(record, envelope, attempt + 1);
    });
  }

  private eventBase(record: R, envelope: Envelope, attempt: number): DeliveryEvent {
    const { options } = this;
    return {
      transport: options.transport,
      topic: options.topic,
      partition: record.partition,
      key: envelope.key,
      id: envelope.id,
      group: options.group,
      attempt,
      lagMs: Date.now() - Date.parse(envelope.createdAt),
    };
  }

  /** Makes a settlement durable; a promise only when the backend's settle is asynchronous. */
  private settle(record: R, settlement: Settlement): Promise<void> | undefined {
    const failed = (error: unknown): void => {
      this.options.logger.warn({ err: error, partition: record.partition, offset: record.offset }, 'settle failed; the backend will redeliver');
    };
    try {
      const result = this.options.backend.settle(record, settlement);
      if (result && typeof result.then === 'function') return result.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
    return undefined;
  }

  /**
   * Writes the dead letter, then settles. Resolves false (record left unsettled, so the
   * backend redelivers it) when the partition was revoked or the dispatcher stopped before
   * the dead letter could be written.
   */
  private async deadLetter(record: R, envelope: Envelope | undefined, reason: string, error: unknown, attempts: number): Promise<boolean> {
    const { options } = this;
    const key = envelope?.key ?? record.key;
    const id = envelope?.id ?? `${options.topic}/${record.partition}/${record.offset}`;
    const fullReason = envelope ? reason : `${reason}: ${error instanceof Error ? error.message : String(error)}`;
    if (options.deadLetterTopic === false) {
      options.logger.error({ err: error, id, reason: fullReason }, 'message dropped: no dead-letter topic');
    } else {
      const input = {
        sourceTopic: options.topic,
        group: options.group,
        reason: fullReason,
        error,
        attempts,
        key,
        partition: record.partition,
        offset: record.offset,
        ...(envelope ? { original: envelope } : PayloadTooLargeError.isInstance(error) ? {} : { raw: record.value as Uint8Array }),
      };
      let deadLetter = buildDeadLetter(input);
      // A dead letter that cannot be written must not be acknowledged away: keep retrying
      // while the partition is ours. One the backend refuses for good (too large, a key the
      // envelope cannot carry) is written in its minimal form instead.
      for (let wait = 100; ; wait = Math.min(wait * 2, 5_000)) {
        try {
          await options.backend.publishDeadLetter(options.deadLetterTopic, deadLetter);
          break;
        } catch (publishError) {
          const final = A2ABusError.isInstance(publishError) && !publishError.isRetryable;
          options.logger.error({ err: publishError, id }, final ? 'dead letter refused; writing its minimal form' : 'dead-letter publish failed; retrying');
          if (final) deadLetter = buildMinimalDeadLetter(input);
          else await sleep(options.clock, wait, this.abort.signal);
          if (this.abort.signal.aborted || this.revoked.has(record.partition) || this.closed) return false;
        }
      }
    }
    options.events.onDeadLetter({
      transport: options.transport,
      topic: options.topic,
      partition: record.partition,
      key,
      id,
      group: options.group,
      attempts,
      reason: fullReason,
      deadLetterTopic: options.deadLetterTopic || '',
    });
    await this.settle(record, 'dead-lettered');
    return true;
  }

  private release(records: readonly R[]): void {
    if (records.length === 0) return;
    let bytes = 0;
    for (const record of records) bytes += recordBytes(record);
    this.held -= records.length;
    this.heldBytes -= bytes;
    if (this.hasRoom()) this.releaseCapacityWaiters();
  }

  private releaseOne(record: R | undefined): void {
    if (record === undefined) return;
    this.held -= 1;
    this.heldBytes -= recordBytes(record);
    if (this.hasRoom()) this.releaseCapacityWaiters();
  }

  private releaseCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scheduleKeepAlive(everyMs: number): void {
    this.keepAliveTimer = this.options.clock.setTimeout(() => {
      const heads: R[] = [];
      for (const lane of this.allLanes()) if (lane.running && lane.records[0]) heads.push(lane.records[0]);
      if (heads.length > 0) {
        try {
          this.options.backend.keepAlive?.(heads);
        } catch (error) {
          this.options.logger.warn({ err: error }, 'keep-alive failed');
        }
      }
      if (!this.abort.signal.aborted && !(this.closed && this.running.size === 0)) this.scheduleKeepAlive(everyMs);
    }, everyMs);
  }
}

export function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
}

const ACK: Outcome = { type: 'ack' };
const RESOLVED = Promise.resolve();

function recordBytes(record: InboundRecord): number {
  return record.bytes ?? (isEnvelope(record.value) ? 0 : record.value.byteLength);
}

function isEnvelope(value: Uint8Array | Envelope): value is Envelope {
  return !(value instanceof Uint8Array);
}
