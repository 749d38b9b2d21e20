import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { backoff } from '../src/consumer/backoff.js';
import type { DispatcherBackend, InboundRecord } from '../src/consumer/dispatcher-types.js';
import { KeyedDispatcher } from '../src/consumer/keyed-dispatcher.js';
import { createEnvelope } from '../src/envelope.js';
import { safeInstrumentation, type DeadLetterEvent } from '../src/instrumentation.js';
import { silentLogger } from '../src/logger.js';
import type { Delivery } from '../src/transport.js';

/**
 * The dispatcher under the faults the chaos harness found, in one process on a manual clock:
 * a dead letter that cannot be written, a partition lost under a running handler, a
 * revoke whose budget runs out, a nack while draining, a member that slept through its lease.
 */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

let offset = 0;
function record(key: string, text: string, partition = 0): InboundRecord {
  offset += 1;
  return {
    partition,
    offset: String(offset),
    key,
    value: createEnvelope({ kind: 'message', key, payload: { role: 'ROLE_USER', messageId: `m${offset}`, parts: [{ text }] } }),
    attempt: 1,
    bytes: undefined,
  };
}

function textOf(delivery: Delivery): string {
  return (delivery.envelope.payload as { parts: Array<{ text: string }> }).parts[0]!.text;
}

function setup(
  handler: (d: Delivery) => void | Promise<void>,
  backend: Partial<DispatcherBackend<InboundRecord>> = {},
  extra: { maxAttempts?: number; deadLetterTimeoutMs?: number } = {},
) {
  const clock = new ManualClock();
  const settled: string[] = [];
  const deadLetters: DeadLetterEvent[] = [];
  const dispatcher = new KeyedDispatcher<InboundRecord>({
    transport: 'test',
    topic: 't',
    group: 'g',
    handler,
    maxInFlight: 16,
    retry: { maxAttempts: extra.maxAttempts ?? 3, initialDelayMs: 100, maxDelayMs: 1_000 },
    deadLetterTopic: 't.dlq',
    backend: {
      settle: (r, settlement) => void settled.push(`${r.offset}:${settlement}`),
      publishDeadLetter: async () => {},
      ...backend,
    },
    events: safeInstrumentation({ onDeadLetter: (event) => void deadLetters.push(event) }, silentLogger),
    logger: silentLogger,
    clock,
    ...(extra.deadLetterTimeoutMs !== undefined ? { deadLetterTimeoutMs: extra.deadLetterTimeoutMs } : {}),
  });
  return { clock, settled, deadLetters, dispatcher };
}

describe('KeyedDispatcher under faults', () => {
  it('a dead letter that cannot be written does not block its key forever: logged, reported, let go', async () => {
    const seen: string[] = [];
    const { clock, settled, deadLetters, dispatcher } = setup(
      (d) => {
        seen.push(textOf(d));
        if (textOf(d) === 'poison') throw new Error('cannot process');
      },
      { publishDeadLetter: async () => Promise.reject(new Error('dead-letter topic unwritable')) },
      { maxAttempts: 1, deadLetterTimeoutMs: 5_000 },
    );
    dispatcher.push(record('k', 'poison'));
    dispatcher.push(record('k', 'after'));
    await flush();
    expect(seen).toEqual(['poison']);
    for (let i = 0; i < 60 && !seen.includes('after'); i += 1) {
      clock.advance(250);
      await flush();
    }
    expect(seen).toEqual(['poison', 'after']); // the key moved on
    expect(clock.now()).toBeLessThanOrEqual(6_000);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.written).toBe(false);
    expect(settled).toHaveLength(2);
  });

  it('a lost partition aborts its running handler at once; its late ack returns false and settles nothing', async () => {
    let running: Delivery | undefined;
    let finish!: () => void;
    const { settled, dispatcher } = setup((d) => {
      running = d;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    dispatcher.assign(0);
    dispatcher.push(record('k', 'a'));
    dispatcher.push(record('k', 'b'));
    await flush();
    expect(running!.signal.aborted).toBe(false);
    dispatcher.lose(0, 'lease lapsed');
    expect(running!.signal.aborted).toBe(true);
    expect(running!.ack()).toBe(false);
    finish();
    await flush();
    expect(settled).toEqual([]); // neither the late one nor the queued one
    expect(dispatcher.inFlight).toBe(0);
    dispatcher.assign(0); // ours again later: a fresh start
    dispatcher.push(record('k', 'c'));
    await flush();
    expect(textOf(running!)).toBe('c');
    expect(running!.signal.aborted).toBe(false);
  });

  it('a key of a lost partition is not held back by a stale handler once the partition is ours again', async () => {
    const seen: string[] = [];
    const { settled, dispatcher } = setup((d) => {
      seen.push(textOf(d));
      if (textOf(d) === 'stale') return new Promise<void>(() => {}); // ignores its signal: runs on
    });
    dispatcher.assign(0);
    dispatcher.push(record('k', 'stale'));
    await flush();
    dispatcher.lose(0, 'lease lapsed');
    dispatcher.assign(0);
    const fresh = record('k', 'fresh');
    dispatcher.push(fresh);
    await flush();
    expect(seen).toEqual(['stale', 'fresh']);
    expect(settled).toEqual([`${fresh.offset}:ack`]);
  });

  it('a revoke whose budget runs out under a running handler stops it: signal aborted, settlement refused', async () => {
    let running: Delivery | undefined;
    const { clock, settled, dispatcher } = setup((d) => {
      running = d;
      return new Promise<void>(() => {}); // ignores its signal and never returns
    });
    dispatcher.assign(0);
    dispatcher.push(record('k', 'slow'));
    await flush();
    let revoked = false;
    void dispatcher.revoke(0, { timeoutMs: 1_000 }).then(() => (revoked = true));
    await flush();
    expect(revoked).toBe(false);
    clock.advance(1_000);
    await flush();
    expect(revoked).toBe(true);
    expect(running!.signal.aborted).toBe(true);
    expect(running!.ack()).toBe(false);
    expect(settled).toEqual([]);
  });

  it('a member that slept through its lease starts nothing more and acknowledges nothing', async () => {
    let holds = true;
    const seen: string[] = [];
    let finish!: () => void;
    const { settled, dispatcher } = setup(
      (d) => {
        seen.push(textOf(d));
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { holds: () => holds },
    );
    dispatcher.assign(0);
    dispatcher.push(record('k', 'a'));
    dispatcher.push(record('k', 'b'));
    await flush();
    holds = false; // woke up after the lease: before any lease round has run
    finish();
    await flush();
    expect(seen).toEqual(['a']);
    expect(settled).toEqual([]);
    expect(dispatcher.isLost(0)).toBe(true);
  });

  it('a nack while draining leaves the record at once instead of sleeping its backoff', async () => {
    let fail!: () => void;
    const { dispatcher } = setup(() => new Promise<void>((_, reject) => (fail = () => reject(new Error('transient')))));
    dispatcher.push(record('k', 'a'));
    await flush();
    let drained: boolean | undefined;
    void dispatcher.drain(30_000).then((result) => (drained = result));
    fail();
    await flush();
    expect(drained).toBe(true); // no 100 ms backoff slept on a manual clock nobody advances
  });

  it('backoff has jitter: never below the policy, at most `jitter` above it', () => {
    const policy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.2 };
    expect(backoff(policy, 1, () => 0)).toBe(100);
    expect(backoff(policy, 1, () => 0.999)).toBe(120);
    expect(backoff(policy, 5, () => 0.5)).toBe(1_100);
    expect(backoff({ ...policy, jitter: 0 }, 2, () => 0.9)).toBe(200);
    const spread = new Set(Array.from({ length: 50 }, () => backoff(policy, 3)));
    expect(spread.size).toBeGreaterThan(5);
  });
});
