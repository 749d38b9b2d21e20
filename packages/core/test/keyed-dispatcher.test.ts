import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { backoff } from '../src/consumer/backoff.js';
import { KeyedDispatcher, type DispatcherBackend, type InboundRecord, type Settlement } from '../src/consumer/keyed-dispatcher.js';
import { createEnvelope, encodeEnvelope, type EnvelopeInput } from '../src/envelope.js';
import { NonRetryableError } from '../src/errors/non-retryable-error.js';
import { safeInstrumentation, type DeadLetterEvent, type Instrumentation } from '../src/instrumentation.js';
import type { Logger } from '../src/logger.js';
import type { DeadLetterNotice, Delivery, MessageHandler } from '../src/transport.js';

// KeyedDispatcher on its own: a ManualClock, a backend that records what it is asked, and
// handlers written per case. The property tests (keyed-dispatcher.property.test.ts) cover
// random interleavings; these pin each rule down with exact values.

interface Rec extends InboundRecord {
  readonly id: string;
}

let offsets = 0;
function record(key: string, id: string, { partition = 0, attempt = 1, bytes }: { partition?: number; attempt?: number; bytes?: Uint8Array } = {}): Rec {
  const envelope: EnvelopeInput = {
    kind: 'message',
    id,
    key,
    headers: { tenant: 'acme' },
    payload: { messageId: id, role: 'ROLE_USER', parts: [{ text: id }] },
  };
  return { partition, offset: String(offsets++), key, value: bytes ?? encodeEnvelope(createEnvelope(envelope)), attempt, id, bytes: undefined };
}

function recordingLogger(lines: string[]): Logger {
  const line = (level: string) => (obj: object, msg?: string) =>
    void lines.push(`${level}: ${msg ?? ''} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.message : v))}`);
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => logger };
  return logger;
}

function setup(
  handler: MessageHandler,
  options: {
    maxRecordBytes?: number;
    maxInFlight?: number;
    maxAttempts?: number;
    maxDeliveries?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    deadLetterTopic?: string | false;
    instrumentation?: Instrumentation;
    keepAliveMs?: number;
    publishDeadLetter?: (topic: string, envelope: EnvelopeInput) => Promise<void>;
    settle?: (r: Rec, s: Settlement) => void | Promise<void>;
    withRecordAttempt?: boolean;
    keepAlive?: (records: readonly Rec[]) => void;
    /** Overrides of the recording backend. */
    backend?: Partial<DispatcherBackend<Rec>>;
    deadLetterTimeoutMs?: number;
    clock?: ManualClock;
    onDeadLetter?: (notice: DeadLetterNotice) => void | Promise<void>;
  } = {},
) {
  const clock = options.clock ?? new ManualClock(10_000);
  const settled: string[] = [];
  const deadLetters: { topic: string; envelope: EnvelopeInput }[] = [];
  const attemptsRecorded: string[] = [];
  const logs: string[] = [];
  const logger = recordingLogger(logs);
  const dispatcher = new KeyedDispatcher<Rec>({
    transport: 'unit',
    topic: 'orders',
    group: 'g',
    handler,
    maxInFlight: options.maxInFlight ?? 8,
    retry: {
      maxAttempts: options.maxAttempts ?? 3,
      initialDelayMs: options.initialDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 1_000,
      ...(options.maxDeliveries ? { maxDeliveries: options.maxDeliveries } : {}),
    },
    deadLetterTopic: options.deadLetterTopic ?? 'orders.dlq',
    backend: {
      settle: (r, s) => {
        settled.push(`${r.id}:${s}`);
        return options.settle?.(r, s);
      },
      ...(options.withRecordAttempt === false ? {} : { recordAttempt: (r: Rec, n: number) => void attemptsRecorded.push(`${r.id}:${n}`) }),
      publishDeadLetter: async (topic, envelope) => {
        if (options.publishDeadLetter) await options.publishDeadLetter(topic, envelope);
        deadLetters.push({ topic, envelope });
      },
      ...(options.keepAlive ? { keepAlive: options.keepAlive } : {}),
      ...options.backend,
    },
    events: safeInstrumentation(options.instrumentation, logger),
    logger,
    clock,
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}),
    ...(options.deadLetterTimeoutMs !== undefined ? { deadLetterTimeoutMs: options.deadLetterTimeoutMs } : {}),
    ...(options.onDeadLetter ? { onDeadLetter: options.onDeadLetter } : {}),
  });
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, dispatcher, settled, deadLetters, attemptsRecorded, logs, flush };
}

/** A handler whose deliveries wait until the case releases them. */
function gate() {
  const waiting = new Map<string, { delivery: Delivery; release: () => void }>();
  const handler: MessageHandler = (delivery) => new Promise<void>((resolve) => void waiting.set(delivery.envelope.id, { delivery, release: resolve }));
  const release = (id: string, verdict?: (d: Delivery) => void) => {
    const entry = waiting.get(id);
    if (!entry) throw new Error(`${id} is not running`);
    waiting.delete(id);
    verdict?.(entry.delivery);
    entry.release();
  };
  return { handler, waiting, release };
}

describe('backoff', () => {
  it('doubles from initialDelayMs per attempt and stops at maxDelayMs', () => {
    const policy = { maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoff(policy, attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoff({ maxAttempts: 3, initialDelayMs: 7, maxDelayMs: 60_000 }, 3)).toBe(28);
  });
});

describe('KeyedDispatcher', () => {
  it('runs one message per key at a time, in order, and keys side by side', async () => {
    const g = gate();
    const { dispatcher, settled, flush } = setup(g.handler);
    for (const r of [record('a', 'a1'), record('a', 'a2'), record('b', 'b1')]) dispatcher.push(r);
    await flush();
    expect([...g.waiting.keys()]).toEqual(['a1', 'b1']);
    g.release('b1');
    await flush();
    expect(settled).toEqual(['b1:ack']);
    expect([...g.waiting.keys()]).toEqual(['a1']);
    g.release('a1');
    await flush();
    expect([...g.waiting.keys()]).toEqual(['a2']);
    g.release('a2');
    await flush();
    expect(settled).toEqual(['b1:ack', 'a1:ack', 'a2:ack']);
    expect(dispatcher.inFlight).toBe(0);
  });

  it('counts what it holds, has room for the rest, and wakes a waiting fetcher when room appears', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler, { maxInFlight: 2 });
    expect(dispatcher.capacity).toBe(2);
    dispatcher.push(record('a', 'a1'));
    expect(dispatcher.inFlight).toBe(1);
    expect(dispatcher.capacity).toBe(1);
    dispatcher.push(record('a', 'a2'));
    expect(dispatcher.inFlight).toBe(2);
    expect(dispatcher.capacity).toBe(0);
    expect(dispatcher.inFlightBytes).toBeGreaterThan(0);
    let ready = false;
    void dispatcher.whenReady().then(() => (ready = true));
    await flush();
    expect(ready).toBe(false);
    g.release('a1');
    await flush();
    expect(ready).toBe(true);
    expect(dispatcher.inFlight).toBe(1);
    expect(dispatcher.capacity).toBe(1);
    await expect(dispatcher.whenReady()).resolves.toBeUndefined();
  });

  it('a synchronous handler that returns settles inline; throwing and nack retry after the backoff on the clock', async () => {
    const attempts: string[] = [];
    const { dispatcher, settled, clock, attemptsRecorded, flush } = setup((d) => {
      attempts.push(`${d.envelope.id}#${d.attempt}@${clock.now()}`);
      if (d.envelope.id === 'x' && d.attempt === 1) throw new Error('flaky');
      if (d.envelope.id === 'y' && d.attempt < 3) d.nack();
    });
    dispatcher.push(record('k1', 'x'));
    dispatcher.push(record('k2', 'y'));
    expect(attempts).toEqual(['x#1@10000', 'y#1@10000']);
    expect(settled).toEqual([]);
    clock.advance(99);
    await flush();
    expect(attempts).toHaveLength(2);
    clock.advance(1);
    await flush();
    expect(attempts).toEqual(['x#1@10000', 'y#1@10000', 'x#2@10100', 'y#2@10100']);
    expect(settled).toEqual(['x:ack']);
    clock.advance(199);
    await flush();
    expect(attempts).toHaveLength(4);
    clock.advance(1);
    await flush();
    expect(attempts.at(-1)).toBe('y#3@10300');
    expect(settled).toEqual(['x:ack', 'y:ack']);
    expect(attemptsRecorded).toEqual(['x:1', 'y:1', 'y:2']);
  });

  it('nack with a delay waits exactly that long; term settles as term and is never retried', async () => {
    const seen: string[] = [];
    const { dispatcher, settled, clock, flush } = setup((d) => {
      seen.push(`${d.envelope.id}#${d.attempt}`);
      if (d.envelope.id === 'n' && d.attempt === 1) expect(d.nack({ delayMs: 5_000 })).toBe(true);
      if (d.envelope.id === 't') {
        expect(d.term('poison')).toBe(true);
        expect(d.ack()).toBe(false); // the first verdict wins
      }
    });
    dispatcher.push(record('k', 'n'));
    dispatcher.push(record('other', 't'));
    expect(settled).toEqual(['t:term']);
    clock.advance(4_999);
    await flush();
    expect(seen).toEqual(['n#1', 't#1']);
    clock.advance(1);
    await flush();
    expect(seen).toEqual(['n#1', 't#1', 'n#2']);
    expect(settled).toEqual(['t:term', 'n:ack']);
  });

  it('after maxAttempts writes the dead letter (id, key, headers, reason, error, attempts) and then settles it', async () => {
    const { dispatcher, settled, deadLetters, clock, flush } = setup(
      () => {
        throw new Error('always');
      },
      { maxAttempts: 2, initialDelayMs: 10 },
    );
    dispatcher.push(record('wf', 'd1'));
    await flush();
    clock.advance(10);
    await flush();
    expect(deadLetters).toHaveLength(1);
    const { topic, envelope } = deadLetters[0]!;
    expect(topic).toBe('orders.dlq');
    expect(envelope).toMatchObject({ kind: 'dead-letter', id: 'd1', key: 'wf', headers: { tenant: 'acme' } });
    expect(envelope.payload).toMatchObject({
      reason: 'failed after 2 attempts',
      attempts: 2,
      sourceTopic: 'orders',
      group: 'g',
      error: { name: 'Error', message: 'always' },
      original: { id: 'd1' },
    });
    expect(settled).toEqual(['d1:dead-lettered']);
    expect(dispatcher.inFlight).toBe(0);
  });

  it('undecodable bytes are dead-lettered with the reason and the raw bytes, and the key goes on', async () => {
    const handled: string[] = [];
    const { dispatcher, settled, deadLetters, flush } = setup((d) => void handled.push(d.envelope.id));
    const garbage = Uint8Array.from([0x7b, 0xff, 0x01]);
    const bad = record('k', 'bad', { bytes: garbage });
    dispatcher.push(bad);
    dispatcher.push(record('k', 'good'));
    await flush();
    expect(handled).toEqual(['good']);
    expect(deadLetters[0]!.envelope).toMatchObject({ id: `orders/0/${bad.offset}`, key: 'k' });
    expect((deadLetters[0]!.envelope.payload as { reason: string }).reason).toMatch(/^undecodable: \[a2a-bus\] cannot decode envelope: not JSON/);
    expect((deadLetters[0]!.envelope.payload as { raw: string }).raw).toBe(Buffer.from(garbage).toString('base64'));
    expect(settled).toEqual([`bad:dead-lettered`, 'good:ack']);
  });

  it('a record delivered more often than maxDeliveries (default 2 × maxAttempts on a delivery count) is dead-lettered without running (crash loop)', async () => {
    const handled: string[] = [];
    const { dispatcher, deadLetters, settled, flush } = setup((d) => void handled.push(d.envelope.id), { maxAttempts: 2, withRecordAttempt: false });
    dispatcher.push(record('k', 'loop', { attempt: 5 }));
    dispatcher.push(record('k2', 'last-chance', { attempt: 4 }));
    await flush();
    expect(handled).toEqual(['last-chance']);
    expect(deadLetters.map((d) => d.envelope.id)).toEqual(['loop']);
    expect(deadLetters[0]!.envelope.payload as { reason: string; attempts: number }).toMatchObject({ reason: 'crash loop', attempts: 5 });
    expect(settled.sort()).toEqual(['last-chance:ack', 'loop:dead-lettered']);
  });

  it('where the backend counts only attempts that ran (recordAttempt), maxDeliveries defaults to maxAttempts', async () => {
    const handled: string[] = [];
    const { dispatcher, deadLetters, flush } = setup((d) => void handled.push(d.envelope.id), { maxAttempts: 2 });
    dispatcher.push(record('k', 'loop', { attempt: 3 }));
    dispatcher.push(record('k2', 'last-chance', { attempt: 2 }));
    await flush();
    expect(handled).toEqual(['last-chance']);
    expect(deadLetters.map((d) => d.envelope.id)).toEqual(['loop']);
  });

  it('onDeadLetter hears each dead letter with its cause, after it is written and before the record is settled', async () => {
    const notices: string[] = [];
    let settledWhenTold: string[] = [];
    const { dispatcher, settled, deadLetters, flush } = setup(
      (d) => {
        if (d.envelope.id === 'fails') throw new Error('boom');
      },
      {
        maxAttempts: 1,
        onDeadLetter: (n) => {
          settledWhenTold = [...settled];
          notices.push(`${n.envelope?.id ?? n.offset}:${n.cause}:${n.reason}:${n.attempts}:${n.deadLetterTopic}:${n.partition}:${deadLetters.length}`);
        },
      },
    );
    dispatcher.push(record('k', 'loop', { attempt: 2 }));
    await flush();
    expect(notices).toEqual(['loop:crash-loop:crash loop:2:orders.dlq:0:1']);
    expect(settledWhenTold).toEqual([]);
    expect(settled).toEqual(['loop:dead-lettered']);
    dispatcher.push(record('k', 'fails'));
    dispatcher.push(record('k3', 'bad', { partition: 1, bytes: new TextEncoder().encode('{') }));
    await flush();
    expect(
      notices
        .slice(1)
        .map((n) => n.replace(/:\d+$/, ''))
        .sort(),
    ).toEqual([
      expect.stringMatching(/^\d+:undecodable:undecodable: \[a2a-bus\] cannot decode envelope: not JSON:1:orders\.dlq:1$/),
      'fails:exhausted:failed after 1 attempts:1:orders.dlq:0',
    ]);
  });

  it('an onDeadLetter hook that throws or hangs is reported and does not hold the record', async () => {
    const errors: string[] = [];
    const clock = new ManualClock(0);
    const { dispatcher, settled, flush } = setup(() => {}, {
      clock,
      maxAttempts: 1,
      deadLetterTimeoutMs: 1_000,
      instrumentation: { onError: (e) => void errors.push(`${e.kind}: ${e.message}: ${e.error instanceof Error ? e.error.message : ''}`) },
      onDeadLetter: (n) => {
        if (n.envelope?.id === 'throws') throw new Error('hook broke');
        return new Promise<void>(() => {});
      },
    });
    dispatcher.push(record('k', 'throws', { attempt: 2 }));
    dispatcher.push(record('k2', 'hangs', { attempt: 2 }));
    await flush();
    expect(settled).toEqual(['throws:dead-lettered']);
    expect(errors).toEqual(['dead-letter-failed: onDeadLetter hook failed for throws: hook broke']);
    clock.advance(999);
    await flush();
    expect(settled).toEqual(['throws:dead-lettered']);
    clock.advance(1);
    await flush();
    expect(settled).toEqual(['throws:dead-lettered', 'hangs:dead-lettered']);
    expect(errors[1]).toBe('dead-letter-failed: onDeadLetter hook failed for hangs: onDeadLetter did not finish within 1000 ms');
  });

  it('a dead-letter publish that fails is retried with backoff on the clock; one refused for good is written minimal', async () => {
    let failures = 2;
    const { dispatcher, deadLetters, settled, clock, flush, logs } = setup(
      () => {
        throw new Error('boom');
      },
      {
        maxAttempts: 1,
        publishDeadLetter: async (_topic, envelope) => {
          if (envelope.id === 'retry' && failures-- > 0) throw new Error('dlq down');
          if (envelope.id === 'refused' && (envelope.payload as { original?: unknown }).original) throw new NonRetryableError('too large');
        },
      },
    );
    dispatcher.push(record('k', 'retry'));
    dispatcher.push(record('k2', 'refused'));
    await flush();
    expect(deadLetters.map((d) => d.envelope.id)).toEqual(['refused']);
    expect((deadLetters[0]!.envelope.payload as { original?: unknown; reason: string }).original).toBeUndefined();
    expect((deadLetters[0]!.envelope.payload as { reason: string }).reason).toMatch(/original left out/);
    clock.advance(99);
    await flush();
    expect(deadLetters).toHaveLength(1);
    clock.advance(1); // first retry after 100 ms: fails again
    await flush();
    expect(deadLetters).toHaveLength(1);
    clock.advance(199);
    await flush();
    expect(deadLetters).toHaveLength(1);
    clock.advance(1); // second retry after 200 more: written
    await flush();
    expect(deadLetters.map((d) => d.envelope.id)).toEqual(['refused', 'retry']);
    expect(settled).toEqual(['refused:dead-lettered', 'retry:dead-lettered']);
    expect(logs.filter((l) => l.includes('dead-letter publish failed; retrying'))).toHaveLength(2);
  });

  it('with deadLetterTopic false a failed message is dropped after logging, and settled', async () => {
    const { dispatcher, deadLetters, settled, logs, flush } = setup(
      () => {
        throw new Error('nope');
      },
      { maxAttempts: 1, deadLetterTopic: false },
    );
    dispatcher.push(record('k', 'drop'));
    await flush();
    expect(deadLetters).toEqual([]);
    expect(settled).toEqual(['drop:dead-lettered']);
    expect(logs.some((l) => l.startsWith('error: message dropped: no dead-letter topic'))).toBe(true);
  });

  it('reports every delivery event with its attempt, delay and verdict', async () => {
    const events: string[] = [];
    const instrumentation: Instrumentation = {
      onDeliver: (e) => void events.push(`deliver ${e.id}#${e.attempt} p${e.partition} ${e.key} ${e.group} ${e.topic}`),
      onRedeliver: (e) => void events.push(`redeliver ${e.id}#${e.attempt}`),
      onAck: (e) => void events.push(`ack ${e.id}#${e.attempt}`),
      onNack: (e) => void events.push(`nack ${e.id}#${e.attempt} delay ${e.delayMs} ${(e.error as Error | undefined)?.message}`),
      onTerm: (e) => void events.push(`term ${e.id}#${e.attempt}`),
      onDeadLetter: (e) => void events.push(`dead-letter ${e.id} after ${e.attempts} to ${e.deadLetterTopic}: ${e.reason}`),
    };
    const { dispatcher, clock, flush } = setup(
      (d) => {
        if (d.envelope.id === 'a' && d.attempt === 1) throw new Error('first');
        if (d.envelope.id === 't') d.term();
        if (d.envelope.id === 'd') d.nack({ delayMs: 0, error: new Error('never') });
      },
      { instrumentation, maxAttempts: 2 },
    );
    dispatcher.push(record('ka', 'a'));
    dispatcher.push(record('kt', 't'));
    dispatcher.push(record('kd', 'd'));
    await flush();
    clock.advance(100);
    await flush();
    // The dead letter is reported once it is written (asynchronously): checked apart from the order.
    expect(events.filter((e) => !e.startsWith('dead-letter'))).toEqual([
      'deliver a#1 p0 ka g orders',
      'nack a#1 delay 100 first',
      'deliver t#1 p0 kt g orders',
      'term t#1',
      'deliver d#1 p0 kd g orders',
      'nack d#1 delay 0 never',
      'redeliver d#2',
      'deliver d#2 p0 kd g orders',
      'nack d#2 delay 0 never',
      'redeliver a#2',
      'deliver a#2 p0 ka g orders',
      'ack a#2',
    ]);
    expect(events.filter((e) => e.startsWith('dead-letter'))).toEqual(['dead-letter d after 2 to orders.dlq: failed after 2 attempts']);
  });

  it('a settle that throws or rejects is logged and the lane goes on', async () => {
    const { dispatcher, settled, logs, flush } = setup(() => {}, {
      settle: (r) => {
        if (r.id === 'sync-fail') throw new Error('XACK refused');
        if (r.id === 'async-fail') return Promise.reject(new Error('commit failed'));
      },
    });
    dispatcher.push(record('k', 'sync-fail'));
    dispatcher.push(record('k', 'async-fail'));
    dispatcher.push(record('k', 'after'));
    await flush();
    expect(settled).toEqual(['sync-fail:ack', 'async-fail:ack', 'after:ack']);
    expect(logs.filter((l) => l.startsWith('warn: settle failed'))).toHaveLength(2);
    expect(dispatcher.inFlight).toBe(0);
  });

  it('an asynchronous handler that rejects after acking is acknowledged (the first verdict wins)', async () => {
    const { dispatcher, settled, flush } = setup(async (d) => {
      d.ack();
      throw new Error('after the ack');
    });
    dispatcher.push(record('k', 'acked'));
    await flush();
    expect(settled).toEqual(['acked:ack']);
  });

  it('revoke drops what has not started (its attempt not counted), waits for the running handler, and refuses the partition until assigned', async () => {
    const g = gate();
    const { dispatcher, settled, attemptsRecorded, flush } = setup(g.handler);
    dispatcher.push(record('k', 'running', { partition: 1 }));
    dispatcher.push(record('k', 'queued', { partition: 1, attempt: 2 }));
    dispatcher.push(record('other', 'elsewhere', { partition: 2 }));
    await flush();
    let revoked = false;
    const revoking = dispatcher.revoke(1).then(() => (revoked = true));
    await flush();
    expect(revoked).toBe(false);
    expect(dispatcher.inFlight).toBe(2); // the running one and partition 2's
    expect(attemptsRecorded).toEqual(['queued:1']);
    dispatcher.push(record('k', 'late', { partition: 1 }));
    expect(dispatcher.inFlight).toBe(2);
    g.release('running');
    await revoking;
    expect(settled).toEqual(['running:ack']);
    expect(g.waiting.has('queued')).toBe(false);
    dispatcher.assign(1);
    dispatcher.push(record('k', 'again', { partition: 1 }));
    await flush();
    expect([...g.waiting.keys()].sort()).toEqual(['again', 'elsewhere']);
  });

  it('hold stops a partition starting anything but leaves its running handlers running; after assign the key goes on behind them', async () => {
    const g = gate();
    const { dispatcher, settled, clock, flush } = setup(async (delivery) => {
      if (delivery.envelope.id === 'retrying') delivery.nack({ delayMs: 60_000 });
      else await g.handler(delivery);
    });
    dispatcher.push(record('k', 'running', { partition: 1 }));
    dispatcher.push(record('k', 'queued', { partition: 1 }));
    dispatcher.push(record('r', 'retrying', { partition: 1 }));
    dispatcher.push(record('other', 'elsewhere', { partition: 2 }));
    await flush();
    const running = dispatcher.hold(1);
    expect(running.map((r) => r.id)).toEqual(['running']); // not the one waiting for its retry
    await flush();
    expect(clock.pending).toBe(0); // the retry wait was cut short: left for redelivery
    expect(dispatcher.runningIn(1).map((r) => r.id)).toEqual(['running']);
    expect(dispatcher.runningIn(2).map((r) => r.id)).toEqual(['elsewhere']);
    dispatcher.push(record('k', 'late', { partition: 1 }));
    expect(dispatcher.inFlight).toBe(2); // the running one and partition 2's
    dispatcher.assign(1);
    dispatcher.push(record('k', 'fetched-again', { partition: 1 }));
    await flush();
    expect(g.waiting.has('fetched-again')).toBe(false); // behind the running one of its key
    g.release('running');
    await flush();
    expect(settled).toEqual(['running:ack']); // its settlement counts
    expect([...g.waiting.keys()].sort()).toEqual(['elsewhere', 'fetched-again']);
    dispatcher.lose(2, 'given away');
    expect(dispatcher.runningIn(2)).toEqual([]); // fenced: not running for this member any more
  });

  it('revoke cuts a retry wait short and leaves the record unsettled', async () => {
    const { dispatcher, settled, clock, flush } = setup((d) => void d.nack({ delayMs: 60_000 }));
    dispatcher.push(record('k', 'waiting'));
    await flush();
    expect(dispatcher.inFlight).toBe(1);
    await dispatcher.revoke(0);
    expect(settled).toEqual([]);
    expect(dispatcher.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('drain lets running handlers finish within the timeout, drops queued records, and reports success', async () => {
    const g = gate();
    const { dispatcher, settled, clock, flush } = setup(g.handler);
    dispatcher.push(record('k', 'running'));
    dispatcher.push(record('k', 'queued'));
    await flush();
    const draining = dispatcher.drain(1_000);
    await flush();
    dispatcher.push(record('k2', 'after-close'));
    expect(dispatcher.inFlight).toBe(1);
    clock.advance(999);
    g.release('running');
    await expect(draining).resolves.toBe(true);
    expect(settled).toEqual(['running:ack']);
    expect(dispatcher.signal.aborted).toBe(false);
    await expect(dispatcher.whenReady()).resolves.toBeUndefined();
  });

  it('drain abandons a handler that outlives the timeout: its signal aborts and its verdict is ignored', async () => {
    const g = gate();
    const { dispatcher, settled, clock, flush } = setup(g.handler);
    dispatcher.push(record('k', 'stuck'));
    await flush();
    const signal = g.waiting.get('stuck')!.delivery.signal;
    const draining = dispatcher.drain(1_000);
    await flush();
    clock.advance(1_000);
    await expect(draining).resolves.toBe(false);
    expect(signal.aborted).toBe(true);
    expect(dispatcher.signal.aborted).toBe(true);
    g.release('stuck', (d) => d.ack());
    await flush();
    expect(settled).toEqual([]);
  });

  it('drain(0) with nothing running succeeds at once; with a handler running it abandons at once', async () => {
    const idle = setup(() => {});
    await expect(idle.dispatcher.drain(0)).resolves.toBe(true);
    const g = gate();
    const busy = setup(g.handler);
    busy.dispatcher.push(record('k', 'busy'));
    await busy.flush();
    await expect(busy.dispatcher.drain(0)).resolves.toBe(false);
    expect(busy.dispatcher.signal.aborted).toBe(true);
  });

  it('measures the longest-running handler on its clock, whichever order handlers end in', async () => {
    const g = gate();
    const { dispatcher, clock, flush } = setup(g.handler);
    expect(dispatcher.longestRunningMs()).toBe(0);
    dispatcher.push(record('a', 'a1'));
    await flush();
    clock.advance(300);
    dispatcher.push(record('b', 'b1'));
    await flush();
    clock.advance(100);
    dispatcher.push(record('c', 'c1'));
    await flush();
    clock.advance(100);
    expect(dispatcher.longestRunningMs()).toBe(500);
    g.release('b1'); // a younger one ends first: the oldest still counts
    await flush();
    expect(dispatcher.longestRunningMs()).toBe(500);
    g.release('a1');
    await flush();
    expect(dispatcher.longestRunningMs()).toBe(100);
    g.release('c1');
    await flush();
    expect(dispatcher.longestRunningMs()).toBe(0);
  });

  it('keeps running records alive every keepAliveMs, and stops after drain', async () => {
    const g = gate();
    const beats: string[][] = [];
    const { dispatcher, clock, flush } = setup(g.handler, { keepAliveMs: 1_000, keepAlive: (records) => void beats.push(records.map((r) => r.id)) });
    dispatcher.push(record('a', 'a1'));
    dispatcher.push(record('a', 'a2'));
    dispatcher.push(record('b', 'b1'));
    await flush();
    clock.advance(999);
    expect(beats).toEqual([]);
    clock.advance(1);
    expect(beats).toEqual([['a1', 'b1']]);
    g.release('b1');
    await flush();
    clock.advance(1_000);
    expect(beats).toEqual([['a1', 'b1'], ['a1']]);
    g.release('a1');
    await flush();
    g.release('a2');
    await flush();
    clock.advance(1_000);
    expect(beats).toHaveLength(2); // nothing running: no call
    await dispatcher.drain(0);
    expect(clock.pending).toBe(0);
  });

  it('a keep-alive that throws is logged and the timer goes on', async () => {
    const g = gate();
    let calls = 0;
    const { dispatcher, clock, logs, flush } = setup(g.handler, {
      keepAliveMs: 500,
      keepAlive: () => {
        calls += 1;
        throw new Error('heartbeat refused');
      },
    });
    dispatcher.push(record('a', 'a1'));
    await flush();
    clock.advance(500);
    clock.advance(500);
    expect(calls).toBe(2);
    expect(logs.filter((l) => l.startsWith('warn: keep-alive failed'))).toHaveLength(2);
  });

  it('without recordAttempt on the backend, a revoke drops queued records quietly', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler, { withRecordAttempt: false });
    dispatcher.push(record('k', 'r1'));
    dispatcher.push(record('k', 'r2'));
    await flush();
    const revoking = dispatcher.revoke(0);
    g.release('r1');
    await revoking;
    expect(dispatcher.inFlight).toBe(0);
  });

  it('a revoke cuts short only the retry waits of its own partition', async () => {
    const seen: string[] = [];
    const { dispatcher, clock, flush } = setup((d) => {
      seen.push(`${d.envelope.id}#${d.attempt}`);
      if (d.attempt === 1) d.nack({ delayMs: 1_000 });
    });
    dispatcher.push(record('k', 'p1', { partition: 1 }));
    dispatcher.push(record('k', 'p2', { partition: 2 }));
    await dispatcher.revoke(1);
    expect(dispatcher.inFlight).toBe(1); // p2 still waits for its retry
    clock.advance(1_000);
    await flush();
    expect(seen).toEqual(['p1#1', 'p2#1', 'p2#2']);
  });

  it('reports how late a message is and how long its handler took', async () => {
    const events: { lagMs: number; handlerMs?: number }[] = [];
    const { dispatcher, flush } = setup(() => {}, { instrumentation: { onDeliver: (e) => void events.push(e), onAck: (e) => void events.push(e) } });
    dispatcher.push(record('k', 'timed'));
    await flush();
    expect(events).toHaveLength(2);
    for (const e of events) expect(e.lagMs).toBeGreaterThanOrEqual(0);
    for (const e of events) expect(e.lagMs).toBeLessThan(60_000); // createdAt is this run's: not an epoch-sized number
    expect(events[1]!.handlerMs).toBeGreaterThanOrEqual(0);
    expect(events[1]!.handlerMs).toBeLessThan(60_000);
  });

  it('a record over maxRecordBytes is dead-lettered undecoded with the reason, and the key goes on', async () => {
    const handled: string[] = [];
    const { dispatcher, deadLetters, settled, flush } = setup((d) => void handled.push(d.envelope.id), { maxRecordBytes: 300 });
    const small = record('k', 'small');
    expect((small.value as Uint8Array).byteLength).toBeLessThanOrEqual(300);
    const big = record('k', 'big', { bytes: new Uint8Array(301) });
    dispatcher.push(big);
    dispatcher.push(small);
    await flush();
    expect(handled).toEqual(['small']);
    expect(deadLetters.map((d) => d.envelope.id)).toEqual([`orders/0/${big.offset}`]);
    expect((deadLetters[0]!.envelope.payload as { reason: string }).reason).toMatch(/301/);
    expect(settled).toEqual(['big:dead-lettered', 'small:ack']);
  });
});

describe('KeyedDispatcher, losing and giving up partitions', () => {
  it('a lost partition drops its queued records at once (attempt not counted), refuses new ones, and leaves other partitions alone', async () => {
    const g = gate();
    const { dispatcher, settled, attemptsRecorded, logs, flush } = setup(g.handler);
    dispatcher.push(record('j', 'idle0', { partition: 0 }));
    await flush();
    g.release('idle0'); // its lane stays, idle
    await flush();
    dispatcher.push(record('k', 'run0', { partition: 0 }));
    dispatcher.push(record('k', 'queued0', { partition: 0, attempt: 2 }));
    dispatcher.push(record('k', 'run1', { partition: 1 }));
    dispatcher.push(record('k', 'queued1', { partition: 1 }));
    await flush();
    dispatcher.lose(0, 'session expired');
    expect(dispatcher.inFlight).toBe(3); // run0 (fenced, still running), run1, queued1
    expect(attemptsRecorded).toEqual(['queued0:1']);
    dispatcher.push(record('k', 'late0', { partition: 0 }));
    expect(dispatcher.inFlight).toBe(3);
    const lostLines = () => logs.filter((l) => l.startsWith('warn: partition lost: its handlers are aborted and their settlements refused'));
    expect(lostLines()).toHaveLength(1);
    expect(lostLines()[0]).toContain('"partition":0,"running":1,"reason":"session expired"');
    dispatcher.lose(0, 'again'); // lost already: nothing more to do
    expect(lostLines()).toHaveLength(1);
    g.release('run0', (d) => expect(d.ack()).toBe(false));
    await flush();
    expect(settled).toEqual(['idle0:ack']);
    const refused = logs.filter((l) => l.startsWith('warn: settlement refused: the partition was lost while the handler ran'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('{"topic":"orders","partition":0,');
    expect(refused[0]).toContain('"outcome":"ack"');
    g.release('run1');
    await flush();
    g.release('queued1');
    await flush();
    expect(settled).toEqual(['idle0:ack', 'run1:ack', 'queued1:ack']);
    expect(dispatcher.inFlight).toBe(0);
  });

  it('a lost partition cuts its retry waits short, and only its own', async () => {
    const seen: string[] = [];
    const { dispatcher, settled, clock, flush } = setup((d) => {
      seen.push(`${d.envelope.id}#${d.attempt}`);
      if (d.attempt === 1) d.nack({ delayMs: 1_000 });
    });
    dispatcher.push(record('k', 'p1', { partition: 1 }));
    dispatcher.push(record('k', 'p2', { partition: 2 }));
    expect(dispatcher.inFlight).toBe(2);
    dispatcher.lose(1, 'lease lapsed');
    await flush();
    expect(dispatcher.inFlight).toBe(1); // p1 let go at once, p2 still waits for its retry
    expect(seen).toEqual(['p1#1', 'p2#1']);
    clock.advance(1_000);
    await flush();
    expect(seen).toEqual(['p1#1', 'p2#1', 'p2#2']);
    expect(settled).toEqual(['p2:ack']);
  });

  it('a partition assigned again while its handler runs keeps that handler fenced by a later loss', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler);
    dispatcher.push(record('k', 'a'));
    await flush();
    const { signal } = g.waiting.get('a')!.delivery;
    dispatcher.assign(0); // the rebalance kept it here
    dispatcher.lose(0, 'lease lapsed');
    expect(signal.aborted).toBe(true);
    expect(dispatcher.isLost(0)).toBe(true);
  });

  it('revoking a lost partition does not wait for its stale handlers', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler);
    dispatcher.push(record('k', 'stale'));
    await flush();
    dispatcher.lose(0, 'lease lapsed');
    let revoked = false;
    void dispatcher.revoke(0).then(() => (revoked = true));
    await flush();
    expect(revoked).toBe(true);
  });

  it('a revoke whose handlers finish within the budget keeps their acks and leaves no timer; one past it says so', async () => {
    const g = gate();
    const { dispatcher, settled, clock, logs, flush } = setup(g.handler);
    dispatcher.push(record('k', 'quick', { partition: 1 }));
    await flush();
    const revoking = dispatcher.revoke(1, { timeoutMs: 1_000 });
    clock.advance(500);
    g.release('quick');
    await revoking;
    expect(settled).toEqual(['quick:ack']);
    expect(dispatcher.isLost(1)).toBe(false);
    expect(clock.pending).toBe(0);
    dispatcher.push(record('k', 'slow', { partition: 2 }));
    await flush();
    const slow = dispatcher.revoke(2, { timeoutMs: 1_000 });
    clock.advance(1_000);
    await slow;
    expect(dispatcher.isLost(2)).toBe(true);
    expect(logs.some((l) => l.includes('"reason":"handlers still running 1000 ms after the partition was revoked"'))).toBe(true);
  });

  it('a revoke without a budget waits as long as its handlers run, on a clock that treats a missing delay like Node does', async () => {
    // Node's setTimeout runs a callback with no (or a NaN) delay after 1 ms: the revoke must not arm one.
    class NodeLikeClock extends ManualClock {
      override setTimeout(callback: () => void, ms: number): unknown {
        return super.setTimeout(callback, Number.isFinite(ms) && ms >= 1 ? ms : 1);
      }
    }
    const g = gate();
    const { dispatcher, settled, clock, flush } = setup(g.handler, { clock: new NodeLikeClock(10_000) });
    dispatcher.push(record('k', 'long'));
    await flush();
    let revoked = false;
    const revoking = dispatcher.revoke(0).then(() => (revoked = true));
    clock.advance(5_000);
    await flush();
    expect(revoked).toBe(false);
    expect(dispatcher.isLost(0)).toBe(false);
    g.release('long');
    await revoking;
    expect(settled).toEqual(['long:ack']);
  });

  it('a record of a partition the backend no longer holds never starts: the partition is lost', async () => {
    const handled: string[] = [];
    const { dispatcher, settled, logs, flush } = setup((d) => void handled.push(d.envelope.id), { backend: { holds: (p) => p !== 3 } });
    dispatcher.push(record('k', 'gone', { partition: 3 }));
    dispatcher.push(record('k', 'here', { partition: 4 }));
    await flush();
    expect(handled).toEqual(['here']);
    expect(settled).toEqual(['here:ack']);
    expect(dispatcher.inFlight).toBe(0);
    expect(dispatcher.isLost(3)).toBe(true);
    expect(logs.some((l) => l.includes('"partition":3') && l.includes('"reason":"lease or session no longer current"'))).toBe(true);
  });

  it('a running handler that reads its signal after the backend stopped holding the partition sees it aborted at once; its ack is refused', async () => {
    // A process woken from SIGSTOP runs I/O callbacks before any timer: the handler's next
    // read of delivery.signal must already tell it, not the next fence timer.
    let holds = true;
    const seen: boolean[] = [];
    let acked: boolean | undefined;
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    const { dispatcher, settled, flush } = setup(
      async (d) => {
        seen.push(d.signal.aborted);
        await paused; // the process sleeps here; the lease lapses meanwhile
        seen.push(d.signal.aborted);
        acked = d.ack();
      },
      { backend: { holds: () => holds } },
    );
    dispatcher.push(record('k', 'slept'));
    await flush();
    holds = false;
    resume();
    await flush();
    expect(seen).toEqual([false, true]);
    expect(acked).toBe(false);
    expect(settled).toEqual([]);
    expect(dispatcher.isLost(0)).toBe(true);
  });

  it('after the dispatcher abandoned a hung handler, revoking its partition does not wait for it', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler);
    dispatcher.push(record('k', 'hung'));
    await flush();
    await expect(dispatcher.drain(0)).resolves.toBe(false);
    let revoked = false;
    void dispatcher.revoke(0).then(() => (revoked = true));
    await flush();
    expect(revoked).toBe(true);
    expect(dispatcher.longestRunningMs()).toBe(0);
  });
});

describe('KeyedDispatcher, room and draining', () => {
  it('drain wakes a fetcher waiting for room at once, even with a handler still running', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler, { maxInFlight: 1 });
    dispatcher.push(record('k', 'running'));
    await flush();
    let ready = false;
    void dispatcher.whenReady().then(() => (ready = true));
    void dispatcher.drain(1_000);
    await flush();
    expect(ready).toBe(true);
    g.release('running');
  });

  it('drain cuts a retry wait short: it finishes at once, the record unsettled, no timer left', async () => {
    const { dispatcher, settled, clock, flush } = setup((d) => void d.nack({ delayMs: 60_000 }));
    dispatcher.push(record('k', 'waiting'));
    await flush();
    let drained: boolean | undefined;
    void dispatcher.drain(1_000).then((result) => (drained = result));
    await flush();
    expect(drained).toBe(true);
    expect(settled).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('a drain that finishes in time leaves no timer behind', async () => {
    const g = gate();
    const { dispatcher, clock, flush } = setup(g.handler);
    dispatcher.push(record('k', 'a'));
    await flush();
    const draining = dispatcher.drain(5_000);
    g.release('a');
    await expect(draining).resolves.toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('a fetcher is woken only when there is room again, also when more than the bound was pushed', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler, { maxInFlight: 1 });
    dispatcher.push(record('k', 'a1'));
    dispatcher.push(record('k', 'a2')); // the adapter's fetch returned more than it asked for
    await flush();
    let ready = false;
    void dispatcher.whenReady().then(() => (ready = true));
    g.release('a1');
    await flush();
    expect(dispatcher.inFlight).toBe(1);
    expect(ready).toBe(false);
    g.release('a2');
    await flush();
    expect(ready).toBe(true);
  });

  it('a revoke that drops queued records wakes a fetcher when that makes room, but not before', async () => {
    const g = gate();
    const { dispatcher, flush } = setup(g.handler, { maxInFlight: 2 });
    dispatcher.push(record('k', 'a1', { partition: 1 }));
    dispatcher.push(record('k', 'a2', { partition: 1 }));
    dispatcher.push(record('k', 'a3', { partition: 1 }));
    await flush();
    let ready = false;
    void dispatcher.whenReady().then(() => (ready = true));
    const revoking = dispatcher.revoke(1); // drops a2 and a3: one record held, one free
    await flush();
    expect(dispatcher.inFlight).toBe(1);
    expect(ready).toBe(true);
    g.release('a1');
    await revoking;
    const full = setup(g.handler, { maxInFlight: 1 });
    full.dispatcher.push(record('k', 'b1', { partition: 1 }));
    full.dispatcher.push(record('k', 'b2', { partition: 1 }));
    full.dispatcher.push(record('k', 'b3', { partition: 1 }));
    await full.flush();
    let fullReady = false;
    void full.dispatcher.whenReady().then(() => (fullReady = true));
    const fullRevoking = full.dispatcher.revoke(1); // drops b2 and b3: still one held, the bound
    await full.flush();
    expect(fullReady).toBe(false);
    g.release('b1');
    await fullRevoking;
    expect(fullReady).toBe(true);
  });

  it('without keepAlive on the backend, keepAliveMs starts no timer', () => {
    const { clock } = setup(() => {}, { keepAliveMs: 1_000 });
    expect(clock.pending).toBe(0);
  });
});

describe('KeyedDispatcher, handlers and verdicts', () => {
  it('a handler that returns a value that is no promise (the verdict it gave) settles inline', () => {
    const { dispatcher, settled } = setup(((d: Delivery) => d.ack()) as unknown as MessageHandler);
    dispatcher.push(record('k', 'inline'));
    expect(settled).toEqual(['inline:ack']);
  });

  it('an asynchronous handler that rejects without a verdict fails with its own error', async () => {
    const { dispatcher, deadLetters, flush } = setup(
      async () => {
        throw new Error('async boom');
      },
      { maxAttempts: 1 },
    );
    dispatcher.push(record('k', 'rejects'));
    await flush();
    expect(deadLetters[0]!.envelope.payload).toMatchObject({ error: { name: 'Error', message: 'async boom' } });
  });

  it('a nack is retried also when the backend keeps no attempt count', async () => {
    const seen: number[] = [];
    const { dispatcher, settled, clock, flush } = setup(
      (d) => {
        seen.push(d.attempt);
        if (d.attempt === 1) d.nack({ delayMs: 10 });
      },
      { withRecordAttempt: false },
    );
    dispatcher.push(record('k', 'r'));
    clock.advance(10);
    await flush();
    expect(seen).toEqual([1, 2]);
    expect(settled).toEqual(['r:ack']);
  });

  it('a term is logged at debug with its reason; an ack is not', async () => {
    const { dispatcher, logs, flush } = setup((d) => {
      if (d.envelope.id === 'poison') d.term('bad input');
    });
    dispatcher.push(record('k', 'fine'));
    dispatcher.push(record('k', 'poison'));
    await flush();
    const terms = logs.filter((l) => l.startsWith('debug: terminated: never redelivered'));
    expect(terms).toEqual(['debug: terminated: never redelivered {"id":"poison","partition":0,"reason":"bad input"}']);
  });

  it('a successful settle reports nothing', async () => {
    const errors: unknown[] = [];
    const { dispatcher, settled, logs, flush } = setup(() => {}, { instrumentation: { onError: (e) => void errors.push(e) } });
    dispatcher.push(record('k', 'ok'));
    dispatcher.push(record('k', 'ok-async'));
    await flush();
    expect(settled).toEqual(['ok:ack', 'ok-async:ack']);
    expect(errors).toEqual([]);
    expect(logs.filter((l) => l.startsWith('warn') || l.startsWith('error'))).toEqual([]);
  });

  it('a backend call that throws inside a lane is reported as consumer-failed; the lane lets go of its records and its key goes on later', async () => {
    const errors: { kind: string; partition?: number }[] = [];
    for (const asynchronous of [false, true]) {
      errors.length = 0;
      const handled: string[] = [];
      const { dispatcher, settled, flush } = setup(
        (d) => {
          handled.push(d.envelope.id);
          if (d.envelope.id !== 'k1') return;
          if (!asynchronous) return void d.nack();
          return Promise.resolve().then(() => void d.nack());
        },
        {
          instrumentation: { onError: (e) => void errors.push(e) },
          backend: {
            recordAttempt: () => {
              throw new Error('pending list gone');
            },
          },
        },
      );
      dispatcher.push(record('k', 'k1', { partition: 2 }));
      dispatcher.push(record('k', 'k2', { partition: 2 }));
      dispatcher.push(record('j', 'j1', { partition: 2 }));
      await flush();
      // A synchronous handler failed its lane before k2 was pushed; an asynchronous one with k2 queued behind it.
      const after = asynchronous ? [] : ['k2:ack'];
      expect(handled).toEqual(asynchronous ? ['k1', 'j1'] : ['k1', 'k2', 'j1']);
      expect(settled).toEqual([...after, 'j1:ack']);
      expect(dispatcher.inFlight).toBe(0);
      expect(errors).toEqual([
        expect.objectContaining({ kind: 'consumer-failed', partition: 2, message: 'dispatcher lane failed; its records are left for redelivery' }),
      ]);
      dispatcher.push(record('k', 'k3', { partition: 2 }));
      await flush();
      expect(settled).toEqual([...after, 'j1:ack', 'k3:ack']);
    }
  });
});

describe('KeyedDispatcher, dead letters', () => {
  it('a record of exactly maxRecordBytes is handled; one byte more is too large, said so in the reason', async () => {
    const handled: string[] = [];
    const fits = record('k', 'fits');
    const limit = (fits.value as Uint8Array).byteLength;
    const { dispatcher, deadLetters, flush } = setup((d) => void handled.push(d.envelope.id), { maxRecordBytes: limit });
    dispatcher.push(fits);
    dispatcher.push(record('k', 'big', { bytes: new Uint8Array(limit + 1) }));
    await flush();
    expect(handled).toEqual(['fits']);
    expect((deadLetters[0]!.envelope.payload as { reason: string }).reason).toBe(
      `too large: [a2a-bus] [unit] envelope of ${limit + 1} bytes on orders exceeds the limit of ${limit} bytes (maxEnvelopeBytes)`,
    );
  });

  it('a crash-loop dead letter says how often the record was delivered; maxDeliveries sets the limit', async () => {
    const { dispatcher, deadLetters, flush } = setup(() => {}, { maxAttempts: 3, maxDeliveries: 3 });
    dispatcher.push(record('k', 'loop', { attempt: 4 }));
    await flush();
    expect(deadLetters[0]!.envelope.payload).toMatchObject({
      error: { name: 'Error', message: 'delivered 4 times, more than maxDeliveries (3), without being settled' },
    });
  });

  it('reports a written dead letter with where it went, and an undecodable one by where it was', async () => {
    const events: DeadLetterEvent[] = [];
    const { dispatcher, flush } = setup(
      () => {
        throw new Error('no');
      },
      { maxAttempts: 1, instrumentation: { onDeadLetter: (e) => void events.push(e) } },
    );
    dispatcher.push(record('wf', 'failed', { partition: 1 }));
    const garbage = record('raw-key', 'ignored', { partition: 1, bytes: Uint8Array.from([0x7b, 0xff]) });
    dispatcher.push(garbage);
    await flush();
    expect(events[0]).toEqual({
      id: 'failed',
      key: 'wf',
      reason: 'failed after 1 attempts',
      transport: 'unit',
      topic: 'orders',
      partition: 1,
      group: 'g',
      attempts: 1,
      deadLetterTopic: 'orders.dlq',
    });
    expect(events[1]).toMatchObject({ id: `orders/1/${garbage.offset}`, key: 'raw-key', deadLetterTopic: 'orders.dlq' });
    expect(events[1]!.reason).toMatch(/^undecodable: /);
    expect(events[1]).not.toHaveProperty('written');
  });

  it('with deadLetterTopic false the drop is reported as not written, and logged with its id and reason', async () => {
    const events: DeadLetterEvent[] = [];
    const { dispatcher, logs, flush } = setup(
      () => {
        throw new Error('nope');
      },
      { maxAttempts: 1, deadLetterTopic: false, instrumentation: { onDeadLetter: (e) => void events.push(e) } },
    );
    dispatcher.push(record('k', 'drop'));
    await flush();
    expect(events).toEqual([
      {
        id: 'drop',
        key: 'k',
        reason: 'failed after 1 attempts',
        transport: 'unit',
        topic: 'orders',
        partition: 0,
        group: 'g',
        attempts: 1,
        deadLetterTopic: '',
        written: false,
      },
    ]);
    expect(logs).toContain('error: message dropped: no dead-letter topic {"err":"nope","id":"drop","reason":"failed after 1 attempts"}');
  });

  it('a dead letter that keeps failing is tried until exactly deadLetterTimeoutMs, then once minimal, then logged in full and let go', async () => {
    const tries: string[] = [];
    const errors: { kind: string; message: string }[] = [];
    const events: DeadLetterEvent[] = [];
    const { dispatcher, clock, settled, logs, flush } = setup(
      () => {
        throw new Error('handler failed');
      },
      {
        maxAttempts: 1,
        deadLetterTimeoutMs: 300,
        instrumentation: { onError: (e) => void errors.push(e), onDeadLetter: (e) => void events.push(e) },
        publishDeadLetter: async (_topic, envelope) => {
          const minimal = (envelope.payload as { original?: unknown }).original === undefined;
          tries.push(`${clock.now() - 10_000}${minimal ? ' minimal' : ''}`);
          throw new Error('dlq down');
        },
      },
    );
    dispatcher.push(record('k', 'x'));
    await flush();
    clock.advance(100);
    await flush();
    clock.advance(200);
    await flush();
    expect(tries).toEqual(['0', '100', '300', '300 minimal']);
    expect(errors.map((e) => [e.kind, e.message])).toEqual([
      ['dead-letter-failed', 'dead-letter publish failed; retrying (id x, to orders.dlq)'],
      ['dead-letter-failed', 'dead-letter publish failed; retrying (id x, to orders.dlq)'],
      ['dead-letter-failed', 'dead letter not written in time; trying its minimal form once (id x, to orders.dlq)'],
      ['dead-letter-failed', 'dead letter could not be written; logged instead and the message let go so its key is not blocked (id x, to orders.dlq)'],
    ]);
    const logged = logs.find((l) => l.startsWith('error: the dead letter that could not be written'));
    expect(logged).toContain('"key":"k"');
    expect(logged).toContain('"kind":"dead-letter","id":"x"');
    expect(logged).toContain('"original":{');
    expect(events).toEqual([expect.objectContaining({ id: 'x', key: 'k', reason: 'failed after 1 attempts', written: false })]);
    expect(settled).toEqual(['x:dead-lettered']);
  });

  it('a dead letter refused for good says it goes minimal', async () => {
    const errors: { message: string }[] = [];
    const { dispatcher, deadLetters, flush } = setup(
      () => {
        throw new Error('handler failed');
      },
      {
        maxAttempts: 1,
        instrumentation: { onError: (e) => void errors.push(e) },
        publishDeadLetter: async (_topic, envelope) => {
          if ((envelope.payload as { original?: unknown }).original) throw new NonRetryableError('too large for the topic');
        },
      },
    );
    dispatcher.push(record('k', 'r'));
    await flush();
    expect(errors.map((e) => e.message)).toEqual(['dead letter refused; writing its minimal form (id r, to orders.dlq)']);
    expect(deadLetters).toHaveLength(1);
  });

  it('a dead letter being retried stops once the partition is revoked, the dispatcher drains, or the backend no longer holds it', async () => {
    for (const end of ['revoke', 'drain', 'holds'] as const) {
      let publishes = 0;
      let holds = true;
      const errors: { kind: string }[] = [];
      const events: DeadLetterEvent[] = [];
      const { dispatcher, clock, settled, flush } = setup(
        () => {
          throw new Error('handler failed');
        },
        {
          maxAttempts: 1,
          instrumentation: { onError: (e) => void errors.push(e), onDeadLetter: (e) => void events.push(e) },
          publishDeadLetter: async () => {
            publishes += 1;
            throw new Error('dlq down');
          },
          backend: { holds: () => holds },
        },
      );
      dispatcher.push(record('k', 'x'));
      await flush();
      expect(publishes).toBe(1);
      let ended = false;
      if (end === 'revoke') void dispatcher.revoke(0).then(() => (ended = true));
      else if (end === 'drain') void dispatcher.drain(60_000).then(() => (ended = true));
      else holds = false;
      await flush();
      clock.advance(100); // the retry's wait ends: ownership is checked before trying again
      await flush();
      expect(publishes, end).toBe(1);
      if (end !== 'holds') expect(ended, end).toBe(true);
      else expect(dispatcher.isLost(0)).toBe(true);
      expect(settled, end).toEqual([]);
      expect(events, end).toEqual([]);
      expect(
        errors.filter((e) => e.kind !== 'dead-letter-failed'),
        end,
      ).toEqual([]);
      expect(dispatcher.inFlight, end).toBe(0);
    }
  });

  it('keeps nothing of an asynchronous handler run once it settled (a long-lived subscription does not grow)', async () => {
    // A run used to leave a reaction on a promise that lives as long as the dispatcher; the
    // reaction kept the run's result. Each handler here resolves with an object watched by a
    // WeakRef: once the runs settled and garbage is collected, none may be left.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const watched: WeakRef<object>[] = [];
    const handler = (() => {
      const result = { payload: new Uint8Array(1_024) };
      watched.push(new WeakRef(result));
      return Promise.resolve(result);
    }) as unknown as MessageHandler;
    const { dispatcher, settled, flush } = setup(handler, { maxInFlight: 64 });
    for (let i = 0; i < 200; i += 1) dispatcher.push(record(`k${i % 16}`, `m${i}`));
    for (let i = 0; i < 20 && settled.length < 200; i += 1) await flush();
    expect(settled).toHaveLength(200);
    await flush();
    for (let i = 0; i < 3; i += 1) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(watched.filter((ref) => ref.deref() !== undefined).length).toBe(0);
    expect(await dispatcher.drain(1_000)).toBe(true);
  });
});
