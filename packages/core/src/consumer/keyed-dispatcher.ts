import { sleep } from '../clock.js';
import { decodeEnvelope, type Envelope } from '../envelope.js';
import { isSilentHook, reportError, type BusErrorKind, type DeliveryEvent } from '../instrumentation.js';
import { backoff } from './backoff.js';
import { writeDeadLetter } from './dead-letter-writer.js';
import { InFlightBudget } from './in-flight-budget.js';
import { PayloadTooLargeError } from '../errors/payload-too-large-error.js';
import { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_IN_FLIGHT_BYTES } from '../limits.js';
import { DeliveryImpl, type Outcome } from './delivery.js';
import type { DeadLetterCause, DeadLetterNotice } from '../transport.js';
import type { InboundRecord, KeyedDispatcherOptions, Settlement } from './dispatcher-types.js';
import { KeyLanes, type KeyLane } from './key-lanes.js';

export type { DispatcherBackend, InboundRecord, KeyedDispatcherOptions, Settlement } from './dispatcher-types.js';
export { backoff } from './backoff.js';

/**
 * Runs a subscription's handler with the transport rules every adapter shares:
 * - one message per key at a time, in partition order; different keys run concurrently;
 * - a nack holds its key (later messages of the key wait) and retries in process after
 *   the delay, so order survives redelivery; after `maxAttempts` the message is
 *   dead-lettered and the key moves on;
 * - undecodable bytes are dead-lettered with the reason, and the consumer goes on;
 * - at most `maxInFlight` records and about `maxInFlightBytes` bytes are held; adapters
 *   wait on `whenReady()` before fetching and fetch at most `capacity` records;
 * - records over `maxRecordBytes` are dead-lettered undecoded (`PayloadTooLargeError`).
 *
 * Adapters feed records in partition order with `push` and make settlements durable in
 * `backend.settle`. A record that is dropped (revoked partition, abandon) is never
 * settled, so the backend redelivers it.
 */
export class KeyedDispatcher<R extends InboundRecord> {
  private readonly lanes = new KeyLanes<R>();
  private readonly held: InFlightBudget;
  private readonly maxRecordBytes: number;
  /** Lanes whose run went asynchronous and has not stopped. */
  private readonly running = new Set<KeyLane<R>>();
  private readonly revoked = new Set<number>();
  private readonly abort = new AbortController();
  private capacityWaiters: Array<() => void> = [];
  /**
   * Asynchronous handler invocations still running, oldest first (a Map keeps insertion order),
   * with their record; each delivery holds its start time (`startedAt`). An abandoned
   * dispatcher stops their lanes itself (`finish`) instead of racing each run against a
   * promise settled on abandon: that left a reaction per run on it, about 320 bytes a message
   * kept for the subscription's life.
   */
  private readonly runningSince = new Map<DeliveryImpl, R>();
  /**
   * Start times are kept relative to this instant on the dispatcher's clock: small integers,
   * which V8 stores in the delivery itself, where a wall-clock millisecond count takes a
   * separate 16-byte number per running handler.
   */
  private readonly clockBase: number;
  /** Records waiting for a retry, with the switch that ends the wait early. */
  private readonly waiting = new Map<R, AbortController>();
  /**
   * Per partition: aborted when this member lost it (lease lapsed, session gone). Its
   * handlers' signals abort with it and their settlements are refused.
   */
  private readonly fences = new Map<number, { readonly controller: AbortController; readonly signal: AbortSignal }>();
  private keepAliveTimer: unknown;
  private closed = false;
  private readonly options: KeyedDispatcherOptions<R>;
  /** Whether any delivery hook is set: otherwise no event objects are built. */
  private readonly reporting: boolean;

  constructor(options: KeyedDispatcherOptions<R>) {
    this.options = options;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
    this.clockBase = options.clock.now();
    this.held = new InFlightBudget(options.maxInFlight, options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES, this.maxRecordBytes);
    const { events } = options;
    this.reporting = [events.onDeliver, events.onAck, events.onNack, events.onTerm, events.onRedeliver].some((hook) => !isSilentHook(hook));
    if (options.backend.keepAlive && options.keepAliveMs) this.scheduleKeepAlive(options.keepAliveMs);
  }

  /** Records held now (queued, running or waiting for a retry). */
  get inFlight(): number {
    return this.held.count;
  }

  /** Encoded bytes held now. */
  get inFlightBytes(): number {
    return this.held.bytes;
  }

  /** Room for this many more records before the in-flight bounds (count and bytes). */
  get capacity(): number {
    return this.held.capacity;
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
    // The first entry is the oldest: entries are added when a handler starts and removed when it ends.
    for (const delivery of this.runningSince.keys()) return this.options.clock.now() - this.clockBase - delivery.startedAt;
    return 0;
  }

  /** Resolves when at least one more record may be pushed (or the dispatcher stopped). */
  whenReady(): Promise<void> {
    if (this.held.hasRoom() || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  /** Hands a fetched record over. Records of one partition must be pushed in order. */
  push(record: R): void {
    if (this.closed || this.revoked.has(record.partition)) return;
    const lane = this.lanes.push(record.partition, record.key, record);
    this.held.add(record);
    if (!lane.running) this.start(lane);
  }

  /** Partitions assigned (again) to this member: accept their records. */
  assign(partition: number): void {
    this.revoked.delete(partition);
    if (this.fences.get(partition)?.controller.signal.aborted) this.fences.delete(partition);
  }

  /**
   * This member lost the partition (its lease lapsed, its session expired, the broker
   * fenced it): another member may run its keys already. Aborts the signals of its running
   * handlers, refuses their settlements (a late ack or nack returns false and changes
   * nothing), drops its queued records and waits for nothing.
   */
  lose(partition: number, reason: string): void {
    this.revoked.add(partition);
    const fence = this.fenceOf(partition);
    if (fence.controller.signal.aborted) return;
    fence.controller.abort(new Error(reason));
    let running = 0;
    for (const [record, wait] of this.waiting) if (record.partition === partition) wait.abort();
    for (const lane of this.lanes.all()) {
      if (lane.partition !== partition) continue;
      if (lane.running) running += 1;
      this.dropQueued(lane);
    }
    this.lanes.detach(partition);
    this.options.logger.warn(
      { topic: this.options.topic, group: this.options.group, partition, running, reason },
      'partition lost: its handlers are aborted and their settlements refused',
    );
  }

  /** Whether the partition was lost (and not assigned again since). */
  isLost(partition: number): boolean {
    return this.fences.get(partition)?.controller.signal.aborted ?? false;
  }

  private fenceOf(partition: number): { readonly controller: AbortController; readonly signal: AbortSignal } {
    let fence = this.fences.get(partition);
    if (!fence) {
      const controller = new AbortController();
      fence = { controller, signal: AbortSignal.any([this.abort.signal, controller.signal]) };
      this.fences.set(partition, fence);
    }
    return fence;
  }

  /** For deliveries, to check their partition when a handler reads its signal (one function, not one per delivery). */
  private readonly verifyHolds = (partition: number): void => void this.stillHolds(partition);

  /** False (and the partition lost) when the backend says this member no longer holds it. */
  private stillHolds(partition: number): boolean {
    if (this.isLost(partition)) return false;
    const holds = this.options.backend.holds;
    if (!holds || holds(partition)) return true;
    this.lose(partition, 'lease or session no longer current');
    return false;
  }

  /**
   * The partition is leaving this member: drop its records not yet started (they stay
   * unacknowledged, so the next owner gets them) and wait for its running handlers, so
   * the next owner never runs a key concurrently with us. With `timeoutMs`, handlers still
   * running after it are given up (`lose`): the wait is bounded, their acks refused.
   */
  async revoke(partition: number, options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopStarting(partition);
    const waits: Promise<void>[] = [];
    for (const lane of this.lanes.all()) if (lane.partition === partition && lane.running) waits.push(this.stopped(lane));
    // A lost partition's handlers are fenced already (signal aborted, acks refused): nothing to
    // wait for — also when it is lost while we wait (the session lapsed meanwhile).
    if (this.isLost(partition)) return;
    const timer = new AbortController();
    // Aborted when the partition is lost or the dispatcher abandoned; the listener goes with `timer`.
    const fence = this.fenceOf(partition).signal;
    const ended = new Promise<void>((resolve) => {
      if (fence.aborted) resolve();
      else fence.addEventListener('abort', () => resolve(), { once: true, signal: timer.signal });
    });
    const finished = Promise.race([Promise.all(waits), ended]).then(() => true);
    try {
      if (options.timeoutMs === undefined || waits.length === 0) {
        await finished;
        return;
      }
      const inTime = await Promise.race([finished, sleep(this.options.clock, options.timeoutMs, timer.signal).then(() => false)]);
      if (!inTime) this.lose(partition, `handlers still running ${options.timeoutMs} ms after the partition was revoked`);
    } finally {
      timer.abort();
    }
  }

  /**
   * The partition may stay with this member through a rebalance: nothing more of it starts
   * here until `assign` (kept) or `lose` / `revoke` (given up). Its queued records are dropped
   * (never settled: fetched again), a retry waiting for its delay is cut short (left for
   * redelivery), and its running handlers go on; their settlements count as usual. Returns
   * the records whose handlers are running now.
   */
  hold(partition: number): R[] {
    this.stopStarting(partition);
    return this.runningIn(partition);
  }

  /** Nothing more of `partition` starts: its retry waits are cut short and its queued records dropped (see `hold`). */
  private stopStarting(partition: number): void {
    this.revoked.add(partition);
    for (const [record, wait] of this.waiting) if (record.partition === partition) wait.abort();
    for (const lane of this.lanes.all()) if (lane.partition === partition) this.dropQueued(lane);
  }

  /** The records of `partition` whose handlers are running now (none when it was lost: they are fenced). */
  runningIn(partition: number): R[] {
    if (this.isLost(partition)) return [];
    const records: R[] = [];
    for (const record of this.runningSince.values()) if (record.partition === partition) records.push(record);
    return records;
  }

  /**
   * Stops intake, drops records not started, lets running handlers finish for up to
   * `timeoutMs`, then abandons what is still running. Returns true when nothing was abandoned.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    this.releaseCapacityWaiters();
    for (const wait of this.waiting.values()) wait.abort();
    for (const lane of this.lanes.all()) this.dropQueued(lane);
    if (this.running.size === 0) return this.finish(true);
    if (timeoutMs <= 0) return this.finish(false);
    const timeout = new AbortController();
    const allDone = Promise.all([...this.running].map((lane) => this.stopped(lane))).then(() => true);
    const timedOut = sleep(this.options.clock, timeoutMs, timeout.signal).then(() => false);
    const drained = await Promise.race([allDone, timedOut]);
    timeout.abort();
    return this.finish(drained);
  }

  private finish(drained: boolean): boolean {
    if (!drained) {
      this.abort.abort();
      // Stop waiting for the handlers still running: their lanes end now, their records unsettled.
      for (const lane of [...this.running]) this.stopLane(lane);
      this.runningSince.clear();
    }
    for (const wait of this.waiting.values()) wait.abort();
    this.options.clock.clearTimeout(this.keepAliveTimer);
    return drained;
  }

  /** Keeps the first record of a lane whose handler is running; drops the rest. */
  private dropQueued(lane: KeyLane<R>): void {
    const keep = lane.running ? 1 : 0;
    if (lane.records.length <= keep) return;
    const dropped = lane.records.splice(keep);
    this.unstarted(dropped);
    this.release(dropped);
    if (!lane.running) this.lanes.forget(lane);
  }

  /**
   * Records dropped before their handler ran: their delivery does not count as an attempt, so
   * a backend that keeps the count (`recordAttempt`) hands them over again with the same
   * attempt — otherwise rebalances alone would push a message towards the crash-loop dead letter.
   */
  private unstarted(records: readonly R[]): void {
    const { recordAttempt } = this.options.backend;
    if (recordAttempt) for (const record of records) recordAttempt(record, record.attempt - 1);
  }

  private start(lane: KeyLane<R>): void {
    lane.running = true;
    this.drive(lane);
  }

  /**
   * Runs a lane's records in order. Synchronous handlers run inline, without a promise per
   * message (the hot path); the first asynchronous step continues the lane in a promise, and
   * the lane is in `running` until it stops (`stopped` waits for that). An asynchronous
   * handler's own promise carries the lane on (`resume`), without a second promise after it.
   */
  private drive(lane: KeyLane<R>): void {
    try {
      while (lane.records.length > 0 && !this.abort.signal.aborted) {
        if (!this.stillHolds(lane.partition)) {
          // Lost while the lane waited: nothing more of it starts here.
          this.release(lane.records.splice(0));
          break;
        }
        const result = this.process(lane.records[0]!, lane);
        if (result === CONTINUES) return;
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
    this.running.add(lane);
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
      const dropped = lane.records.splice(0);
      this.unstarted(dropped);
      this.release(dropped);
    }
  }

  private stopLane(lane: KeyLane<R>): void {
    if (!lane.running) return; // stopped already (abandoned while its handler ran)
    lane.running = false;
    if (lane.records.length === 0) this.lanes.forget(lane);
    this.running.delete(lane);
    const waiters = lane.waiters;
    if (waiters) {
      lane.waiters = undefined;
      for (const resolve of waiters) resolve();
    }
  }

  /** Settles when the lane stops running: a promise only for those who wait (revoke, drain). */
  private stopped(lane: KeyLane<R>): Promise<void> {
    if (!lane.running) return Promise.resolve();
    return new Promise((resolve) => (lane.waiters ??= []).push(resolve));
  }

  /** A bug, not a handler failure: leave the lane's records unsettled for redelivery, free the room. */
  private laneFailed(lane: KeyLane<R>, error: unknown): void {
    this.reportError('error', 'consumer-failed', 'dispatcher lane failed; its records are left for redelivery', error, lane.partition);
    this.release(lane.records.splice(0));
    this.stopLane(lane);
  }

  /**
   * Handles one record through its retries. Resolves false when it was left unsettled;
   * `CONTINUES` when its handler went asynchronous and will resume `lane` itself.
   */
  private process(record: R, lane: KeyLane<R>): boolean | Promise<boolean> | typeof CONTINUES {
    if (!isEnvelope(record.value) && record.value.byteLength > this.maxRecordBytes) {
      // Foreign bytes over the limit: not worth decoding (nor copying into the dead letter).
      const error = new PayloadTooLargeError(this.options.transport, record.value.byteLength, this.maxRecordBytes, { topic: this.options.topic });
      return this.deadLetter(record, undefined, 'too-large', 'too large', error, record.attempt);
    }
    const decoded = isEnvelope(record.value) ? { ok: true as const, envelope: record.value } : decodeEnvelope(record.value);
    if (!decoded.ok) return this.deadLetter(record, undefined, 'undecodable', 'undecodable', decoded.error, record.attempt);
    if (!isEnvelope(record.value)) {
      // Keep the envelope, not the bytes too (the budget counts the same size on release).
      record.bytes ??= record.value.byteLength;
      record.value = decoded.envelope;
    }
    // A backend that counts only attempts that ran (recordAttempt) is exact; a broker's delivery count is not.
    const { maxAttempts, maxDeliveries = this.options.backend.recordAttempt ? maxAttempts : 2 * maxAttempts } = this.options.retry;
    if (record.attempt > maxDeliveries) {
      // Delivered more often than allowed without a verdict: its handler keeps killing the
      // consumer (a crash loop). Dead-letter it instead of running it again.
      const error = new Error(`delivered ${record.attempt} times, more than maxDeliveries (${maxDeliveries}), without being settled`);
      return this.deadLetter(record, decoded.envelope, 'crash-loop', 'crash loop', error, record.attempt);
    }
    return this.attempt(record, decoded.envelope, record.attempt, lane);
  }

  /**
   * Runs the handler once. Given its lane (a first attempt), an asynchronous handler resumes
   * the lane when it ends (`CONTINUES`); a retry, which has no lane, resolves its verdict.
   */
  private attempt(record: R, envelope: Envelope, attempt: number): boolean | Promise<boolean>;
  private attempt(record: R, envelope: Envelope, attempt: number, lane: KeyLane<R>): boolean | Promise<boolean> | typeof CONTINUES;
  private attempt(record: R, envelope: Envelope, attempt: number, lane?: KeyLane<R>): boolean | Promise<boolean> | typeof CONTINUES {
    const { options } = this;
    const base = this.reporting ? this.eventBase(record, envelope, attempt) : undefined;
    if (base) {
      if (attempt > 1) options.events.onRedeliver(base);
      options.events.onDeliver(base);
    }
    const delivery = new DeliveryImpl(
      envelope,
      options.topic,
      record.partition,
      record.offset,
      attempt,
      this.fenceOf(record.partition).signal,
      this.verifyHolds,
    );
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
    delivery.startedAt = options.clock.now() - this.clockBase;
    this.runningSince.set(delivery, record);
    if (lane) {
      this.running.add(lane);
      // Promise.resolve: a thenable that is not a promise is read as one (a native promise is passed as is).
      Promise.resolve(result).then(
        () => this.resume(lane, record, envelope, attempt, delivery, delivery.outcome ?? ACK, base, started),
        (error: unknown) => this.resume(lane, record, envelope, attempt, delivery, delivery.outcome ?? { type: 'nack', error }, base, started),
      );
      return CONTINUES;
    }
    return Promise.resolve(result).then(
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

  /** An asynchronous handler of the lane's head ended: act on its outcome, then go on with the lane. */
  private resume(
    lane: KeyLane<R>,
    record: R,
    envelope: Envelope,
    attempt: number,
    delivery: DeliveryImpl,
    outcome: Outcome,
    base: DeliveryEvent | undefined,
    started: number,
  ): void {
    this.runningSince.delete(delivery);
    let settled: boolean | Promise<boolean>;
    try {
      settled = this.conclude(record, envelope, attempt, outcome, base, started);
    } catch (error) {
      this.laneFailed(lane, error);
      return;
    }
    if (typeof settled !== 'boolean') this.continueLater(lane, settled);
    else if (this.abort.signal.aborted) this.stopLane(lane);
    else {
      this.advance(lane, settled);
      this.drive(lane);
    }
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
    if (!this.stillHolds(record.partition)) {
      // Fenced: another member may own the partition now. The settlement is refused; the record is its.
      options.logger.warn(
        { topic: options.topic, partition: record.partition, offset: record.offset, outcome: outcome.type },
        'settlement refused: the partition was lost while the handler ran',
      );
      return false;
    }
    const handlerMs = base ? performance.now() - started : 0;
    if (outcome.type === 'ack' || outcome.type === 'term') {
      if (outcome.type === 'term')
        options.logger.debug({ id: envelope.id, partition: record.partition, reason: outcome.reason }, 'terminated: never redelivered');
      if (base) (outcome.type === 'ack' ? options.events.onAck : options.events.onTerm)({ ...base, handlerMs });
      const pending = this.settle(record, outcome.type);
      return pending ? pending.then(() => true) : true;
    }
    if (attempt >= options.retry.maxAttempts) {
      if (base) options.events.onNack({ ...base, handlerMs, delayMs: 0, error: outcome.error });
      // Counted before the dead letter is written: should that fail and the record be handed
      // over again (a revoke), the last attempt is not run a second time.
      options.backend.recordAttempt?.(record, attempt);
      return this.deadLetter(record, envelope, 'exhausted', `failed after ${attempt} attempts`, outcome.error, attempt);
    }
    const delayMs = outcome.delayMs ?? backoff(options.retry, attempt);
    if (base) options.events.onNack({ ...base, handlerMs, delayMs, error: outcome.error });
    options.backend.recordAttempt?.(record, attempt);
    // Closing or revoked: no retry will run here, so leave the record for redelivery now instead of sleeping.
    if (this.closed || this.revoked.has(record.partition)) return false;
    // A revoke or close cuts the wait short: the record is left for redelivery at once.
    const wait = new AbortController();
    this.waiting.set(record, wait);
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
      this.reportError('warn', 'settle-failed', `settle failed at offset ${record.offset}; the backend will redeliver`, error, record.partition);
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
  private async deadLetter(
    record: R,
    envelope: Envelope | undefined,
    cause: DeadLetterCause,
    reason: string,
    error: unknown,
    attempts: number,
  ): Promise<boolean> {
    const { options } = this;
    const written = await writeDeadLetter(options, record, envelope, reason, error, attempts, {
      signal: this.fenceOf(record.partition).signal,
      stillOwned: () => !(this.abort.signal.aborted || this.revoked.has(record.partition) || this.closed) && this.stillHolds(record.partition),
    });
    if (!written) return false;
    options.events.onDeadLetter({
      id: written.id,
      key: written.key,
      reason: written.reason,
      transport: options.transport,
      topic: options.topic,
      partition: record.partition,
      group: options.group,
      attempts,
      deadLetterTopic: options.deadLetterTopic || '',
      ...(written.written ? {} : { written: false }),
    });
    const deadLetterTopic = written.written ? options.deadLetterTopic : false;
    await this.tellDeadLetter(record, { cause, reason: written.reason, ...(envelope ? { envelope } : {}), attempts, deadLetterTopic, error });
    await this.settle(record, 'dead-lettered');
    return true;
  }

  /** The subscription's `onDeadLetter` hook, bounded by the dead-letter timeout; its failures are reported, never held. */
  private async tellDeadLetter(record: R, notice: Omit<DeadLetterNotice, 'partition' | 'offset'>): Promise<void> {
    const hook = this.options.onDeadLetter;
    if (!hook) return;
    const failed = (error: unknown): void =>
      this.reportError('error', 'dead-letter-failed', `onDeadLetter hook failed for ${notice.envelope?.id ?? record.offset}`, error, record.partition);
    const timeout = new AbortController();
    try {
      const told = Promise.resolve(hook({ ...notice, partition: record.partition, offset: record.offset })).then(
        () => true,
        (error: unknown) => {
          failed(error);
          return true;
        },
      );
      const timeoutMs = this.options.deadLetterTimeoutMs ?? 30_000;
      const done = await Promise.race([told, sleep(this.options.clock, timeoutMs, timeout.signal).then(() => false)]);
      if (!done) failed(new Error(`onDeadLetter did not finish within ${timeoutMs} ms`));
    } catch (error) {
      failed(error);
    } finally {
      timeout.abort();
    }
  }

  private release(records: readonly R[]): void {
    if (records.length === 0) return;
    for (const record of records) this.held.release(record);
    if (this.held.hasRoom()) this.releaseCapacityWaiters();
  }

  private releaseOne(record: R | undefined): void {
    if (record === undefined) return;
    this.held.release(record);
    if (this.held.hasRoom()) this.releaseCapacityWaiters();
  }

  private releaseCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private reportError(level: 'warn' | 'error', kind: BusErrorKind, message: string, error: unknown, partition?: number): void {
    const { options } = this;
    reportError(options.events, options.logger, level, {
      kind,
      transport: options.transport,
      topic: options.topic,
      group: options.group,
      message,
      error,
      ...(partition !== undefined ? { partition } : {}),
    });
  }

  private scheduleKeepAlive(everyMs: number): void {
    this.keepAliveTimer = this.options.clock.setTimeout(() => {
      const heads: R[] = [];
      for (const lane of this.lanes.all()) if (lane.running && lane.records[0]) heads.push(lane.records[0]);
      if (heads.length > 0) {
        try {
          this.options.backend.keepAlive?.(heads);
        } catch (error) {
          this.reportError('warn', 'heartbeat-failed', 'keep-alive failed; a long handler may be redelivered meanwhile', error);
        }
      }
      if (!this.abort.signal.aborted && !(this.closed && this.running.size === 0)) this.scheduleKeepAlive(everyMs);
    }, everyMs);
  }
}

const ACK: Outcome = { type: 'ack' };
/** `process` and `attempt`: the handler went asynchronous and resumes its lane itself. */
const CONTINUES = Symbol('continues');

function isEnvelope(value: Uint8Array | Envelope): value is Envelope {
  return !(value instanceof Uint8Array);
}
