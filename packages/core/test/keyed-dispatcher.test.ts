import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { backoff } from '../src/consumer/backoff.js';
import { KeyedDispatcher, type InboundRecord, type Settlement } from '../src/consumer/keyed-dispatcher.js';
import { createEnvelope, encodeEnvelope, type EnvelopeInput } from '../src/envelope.js';
import { NonRetryableError } from '../src/errors/non-retryable-error.js';
import { safeInstrumentation, type Instrumentation } from '../src/instrumentation.js';
import type { Logger } from '../src/logger.js';
import type { Delivery, MessageHandler } from '../src/transport.js';

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
  return { partition, offset: String(offsets++), key, value: bytes ?? encodeEnvelope(createEnvelope(envelope)), attempt, id };
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
    initialDelayMs?: number;
    maxDelayMs?: number;
    deadLetterTopic?: string | false;
    instrumentation?: Instrumentation;
    keepAliveMs?: number;
    publishDeadLetter?: (topic: string, envelope: EnvelopeInput) => Promise<void>;
    settle?: (r: Rec, s: Settlement) => void | Promise<void>;
    withRecordAttempt?: boolean;
    keepAlive?: (records: readonly Rec[]) => void;
  } = {},
) {
  const clock = new ManualClock(10_000);
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
    retry: { maxAttempts: options.maxAttempts ?? 3, initialDelayMs: options.initialDelayMs ?? 100, maxDelayMs: options.maxDelayMs ?? 1_000 },
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
    },
    events: safeInstrumentation(options.instrumentation, logger),
    logger,
    clock,
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}),
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

  it('a record delivered more often than maxAttempts is dead-lettered without running (crash loop)', async () => {
    const handled: string[] = [];
    const { dispatcher, deadLetters, settled, flush } = setup((d) => void handled.push(d.envelope.id), { maxAttempts: 3 });
    dispatcher.push(record('k', 'loop', { attempt: 4 }));
    dispatcher.push(record('k2', 'last-chance', { attempt: 3 }));
    await flush();
    expect(handled).toEqual(['last-chance']);
    expect(deadLetters.map((d) => d.envelope.id)).toEqual(['loop']);
    expect(deadLetters[0]!.envelope.payload as { reason: string; attempts: number }).toMatchObject({ reason: 'crash loop', attempts: 4 });
    expect(settled.sort()).toEqual(['last-chance:ack', 'loop:dead-lettered']);
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

  it('measures the longest-running handler on its clock', async () => {
    const g = gate();
    const { dispatcher, clock, flush } = setup(g.handler);
    expect(dispatcher.longestRunningMs()).toBe(0);
    dispatcher.push(record('a', 'a1'));
    await flush();
    clock.advance(300);
    dispatcher.push(record('b', 'b1'));
    await flush();
    clock.advance(200);
    expect(dispatcher.longestRunningMs()).toBe(500);
    g.release('a1');
    await flush();
    expect(dispatcher.longestRunningMs()).toBe(200);
    g.release('b1');
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
