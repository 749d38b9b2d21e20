import { ManualClock, sleep } from '../../src/clock.js';
import { KeyedDispatcher, type InboundRecord, type Settlement } from '../../src/consumer/keyed-dispatcher.js';
import { createEnvelope, encodeEnvelope, type EnvelopeInput } from '../../src/envelope.js';
import type { Delivery } from '../../src/transport.js';
import { safeInstrumentation } from '../../src/instrumentation.js';
import { silentLogger } from '../../src/logger.js';
import type { RetryPolicy } from '../../src/transport.js';

/** What a handler does on one attempt. `none` returns without a verdict (an implicit ack). */
export interface Action {
  readonly settle: 'ack' | 'term' | 'nack' | 'throw' | 'none';
  /** nack's delay; absent: the retry policy's backoff. */
  readonly delayMs?: number | undefined;
  /** The handler runs this long on the clock before its verdict; absent: synchronous. */
  readonly asyncMs?: number | undefined;
}

export interface HarnessConfig {
  readonly partitions: number;
  readonly maxInFlight: number;
  readonly retry: RetryPolicy;
  readonly keepAliveMs?: number;
}

export interface PublishSpec {
  readonly key: string;
  /** Verdict per attempt (index attempt - 1); past the end the handler acks. */
  readonly script: readonly Action[];
  /** Bytes that are no envelope at all. */
  readonly garbage?: boolean;
  /** Deliveries the backend counted before (a member crashed holding it). */
  readonly priorDeliveries?: number;
  /** Times the dead-letter publish fails before it succeeds. */
  readonly deadLetterFailures?: number;
}

export interface Message extends PublishSpec {
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
  readonly seq: number;
  deliveries: number;
  /** Times the backend pushed it (a revoke makes it push again). */
  pushes: number;
  readonly settlements: Settlement[];
  readonly attemptsSeen: number[];
  /** For each attempt: the push it belonged to, and the clock when it started and ended. */
  readonly runs: { attempt: number; push: number; startedAt: number; endedAt?: number; verdict?: Action['settle'] }[];
  deadLetters: number;
  deadLetterFailuresLeft: number;
}

export interface Record extends InboundRecord {
  readonly message: Message;
}

/**
 * A KeyedDispatcher on a ManualClock with an in-memory backend that behaves like a log:
 * records are pushed in partition order while the dispatcher has room, settlements are
 * recorded, and a revoked partition's unsettled records are pushed again (counting
 * deliveries, like a pending-entries list) once the revoke finished. Handlers follow a script.
 */
export class DispatcherHarness {
  readonly clock = new ManualClock(1_000_000);
  readonly messages: Message[] = [];
  readonly byId = new Map<string, Message>();
  readonly violations: string[] = [];
  readonly keepAlives: string[][] = [];
  readonly dispatcher: KeyedDispatcher<Record>;
  /** Settled message ids per key, in settlement order. */
  readonly settledOrder = new Map<string, string[]>();
  maxRunning = 0;
  maxInFlightSeen = 0;
  private running = 0;
  private readonly runningKeys = new Map<string, number>();
  private readonly log: Message[][];
  private readonly cursors: number[];
  private readonly redeliver: Message[][];
  private readonly assigned = new Set<number>();
  private readonly revoking = new Map<number, Promise<void>>();
  private waitingForRoom = false;
  private readonly config: HarnessConfig;

  constructor(config: HarnessConfig) {
    this.config = config;
    this.log = Array.from({ length: config.partitions }, () => []);
    this.cursors = Array.from({ length: config.partitions }, () => 0);
    this.redeliver = Array.from({ length: config.partitions }, () => []);
    for (let p = 0; p < config.partitions; p += 1) this.assigned.add(p);
    this.dispatcher = new KeyedDispatcher<Record>({
      transport: 'harness',
      topic: 't',
      group: 'g',
      handler: (delivery) => this.handle(delivery),
      maxInFlight: config.maxInFlight,
      retry: config.retry,
      deadLetterTopic: 't.dlq',
      backend: {
        settle: (record, settlement) => {
          record.message.settlements.push(settlement);
          const order = this.settledOrder.get(record.key) ?? [];
          order.push(record.message.id);
          this.settledOrder.set(record.key, order);
        },
        recordAttempt: (record, attempts) => {
          record.message.deliveries = attempts;
        },
        publishDeadLetter: async (_topic, envelope: EnvelopeInput) => {
          const message = this.byId.get(envelope.id!);
          if (!message) throw new Error(`dead letter for an unknown id ${envelope.id}`);
          if (message.deadLetterFailuresLeft > 0) {
            message.deadLetterFailuresLeft -= 1;
            throw new Error('dead-letter topic unavailable');
          }
          message.deadLetters += 1;
        },
        keepAlive: (records) => void this.keepAlives.push(records.map((r) => r.message.id)),
      },
      events: safeInstrumentation(undefined, silentLogger),
      logger: silentLogger,
      clock: this.clock,
      ...(config.keepAliveMs ? { keepAliveMs: config.keepAliveMs } : {}),
    });
  }

  publish(spec: PublishSpec): Message {
    const partition = Number(spec.key.slice(1)) % this.config.partitions;
    const offset = this.log[partition]!.length;
    const seq = this.messages.length;
    const id = spec.garbage ? `t/${partition}/${offset}` : `m${seq}`;
    const message: Message = {
      ...spec,
      id,
      partition,
      offset,
      seq,
      deliveries: spec.priorDeliveries ?? 0,
      pushes: 0,
      settlements: [],
      attemptsSeen: [],
      runs: [],
      deadLetters: 0,
      deadLetterFailuresLeft: spec.deadLetterFailures ?? 0,
    };
    this.messages.push(message);
    this.byId.set(id, message);
    this.log[partition]!.push(message);
    this.pump();
    return message;
  }

  /** Takes the partition away and gives it back once the dispatcher let go of it. */
  revoke(partition: number): void {
    if (!this.assigned.has(partition)) return;
    this.assigned.delete(partition);
    const done = this.dispatcher.revoke(partition).then(() => {
      const pushed = this.log[partition]!.slice(0, this.cursors[partition]);
      this.redeliver[partition] = pushed.filter((m) => m.settlements.length === 0);
      this.revoking.delete(partition);
      this.assigned.add(partition);
      this.dispatcher.assign(partition);
      this.pump();
    });
    this.revoking.set(partition, done);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.observe();
  }

  /** Lets every promise that can settle now settle. */
  async flush(): Promise<void> {
    for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
    this.observe();
  }

  /** Moves the clock until every message is settled (or `rounds` run out). */
  async settleAll(rounds = 400): Promise<void> {
    for (let i = 0; i < rounds; i += 1) {
      await this.flush();
      if (this.revoking.size === 0 && this.messages.every((m) => m.settlements.length > 0)) return;
      this.advance(1_000);
    }
  }

  get revokesPending(): number {
    return this.revoking.size;
  }

  /** Pushes records, in partition order, while the dispatcher has room. */
  private pump(): void {
    let pushed = true;
    while (pushed && this.dispatcher.capacity > 0) {
      pushed = false;
      for (let p = 0; p < this.config.partitions && this.dispatcher.capacity > 0; p += 1) {
        if (!this.assigned.has(p)) continue;
        const next = this.redeliver[p]!.shift() ?? this.log[p]![this.cursors[p]!];
        if (!next) continue;
        if (next.offset === this.cursors[p]) this.cursors[p] = next.offset + 1;
        next.deliveries += 1;
        next.pushes += 1;
        const value = next.garbage ? Buffer.from([0x7b, 0xff, 0x00]) : encodeEnvelope(createEnvelope(envelopeOf(next)));
        this.dispatcher.push({ partition: p, offset: String(next.offset), key: next.key, value, attempt: next.deliveries, message: next, bytes: undefined });
        pushed = true;
      }
    }
    this.observe();
    if (!this.waitingForRoom && this.dispatcher.capacity === 0) {
      this.waitingForRoom = true;
      void this.dispatcher.whenReady().then(() => {
        this.waitingForRoom = false;
        this.pump();
      });
    }
  }

  private observe(): void {
    const held = this.dispatcher.inFlight;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, held);
    if (held > this.config.maxInFlight) this.violations.push(`${held} records held, bound ${this.config.maxInFlight}`);
    if (held < 0) this.violations.push(`negative in-flight count ${held}`);
  }

  private handle(delivery: Delivery): void | Promise<void> {
    const message = this.byId.get(delivery.envelope.id)!;
    const { key } = message;
    if ((this.runningKeys.get(key) ?? 0) > 0) this.violations.push(`key ${key}: ${message.id} started while another message of the key ran`);
    this.runningKeys.set(key, (this.runningKeys.get(key) ?? 0) + 1);
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    message.attemptsSeen.push(delivery.attempt);
    const action = message.script[delivery.attempt - 1] ?? { settle: 'ack' };
    const run: Message['runs'][number] = { attempt: delivery.attempt, push: message.pushes, startedAt: this.clock.now(), verdict: action.settle };
    message.runs.push(run);
    const end = (): void => {
      run.endedAt = this.clock.now();
      this.running -= 1;
      this.runningKeys.set(key, this.runningKeys.get(key)! - 1);
      verdict(delivery, action);
    };
    if (action.asyncMs === undefined) return end();
    return sleep(this.clock, action.asyncMs).then(end);
  }
}

function verdict(delivery: Delivery, action: Action): void {
  switch (action.settle) {
    case 'ack':
      delivery.ack();
      return;
    case 'term':
      delivery.term('scripted');
      return;
    case 'nack':
      delivery.nack(action.delayMs === undefined ? {} : { delayMs: action.delayMs });
      return;
    case 'throw':
      throw new Error('scripted failure');
    case 'none':
      return;
  }
}

function envelopeOf(message: Message): EnvelopeInput {
  return { kind: 'message', id: message.id, key: message.key, payload: { messageId: message.id, role: 'ROLE_USER', parts: [{ text: String(message.seq) }] } };
}

/** What a message must end as, from its script alone: the verdict does not depend on interleaving. */
export function expectedEnd(message: PublishSpec, maxAttempts: number): { settlement: Settlement; attempts: number[] } {
  if (message.garbage) return { settlement: 'dead-lettered', attempts: [] };
  const first = (message.priorDeliveries ?? 0) + 1;
  // A crash loop: more deliveries without a verdict than maxDeliveries (this backend counts attempts exactly: maxAttempts).
  if (first > maxAttempts) return { settlement: 'dead-lettered', attempts: [] };
  const attempts: number[] = [];
  for (let attempt = first; ; attempt += 1) {
    attempts.push(attempt);
    const settle = message.script[attempt - 1]?.settle ?? 'ack';
    if (settle === 'term') return { settlement: 'term', attempts };
    if (settle === 'ack' || settle === 'none') return { settlement: 'ack', attempts };
    if (attempt >= maxAttempts) return { settlement: 'dead-lettered', attempts };
  }
}
