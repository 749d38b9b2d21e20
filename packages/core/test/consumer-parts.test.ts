import { describe, expect, it } from 'vitest';
import { buildDeadLetter, buildMinimalDeadLetter, describeError, type DeadLetterInput } from '../src/consumer/dead-letter.js';
import { DeliveryImpl } from '../src/consumer/delivery.js';
import { InFlightBudget, recordBytes } from '../src/consumer/in-flight-budget.js';
import { createEnvelope, type Envelope } from '../src/envelope.js';
import { DecodeError } from '../src/errors/decode-error.js';

// The small pieces of the consumer, with exact values: what a handler's verdict returns, what
// a dead letter holds, how the in-flight budget counts.

const envelope = createEnvelope({
  kind: 'message',
  id: 'm-1',
  key: 'wf-1',
  correlationId: 'c-1',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  headers: { tenant: 'acme' },
  payload: { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'hi' }] },
});
const delivery = () => new DeliveryImpl(envelope, 't', 2, '7', 1, new AbortController().signal);

describe('Delivery verdicts', () => {
  it('the first verdict wins; a later one reports whether it agreed', () => {
    const acked = delivery();
    expect(acked.ack()).toBe(true);
    expect(acked.ack()).toBe(true);
    expect(acked.nack()).toBe(false);
    expect(acked.term()).toBe(false);
    expect(acked.outcome).toEqual({ type: 'ack' });
    const nacked = delivery();
    expect(nacked.nack({ delayMs: 50, error: 'e' })).toBe(true);
    expect(nacked.outcome).toEqual({ type: 'nack', delayMs: 50, error: 'e' });
    expect(nacked.nack()).toBe(true);
    expect(nacked.ack()).toBe(false);
    const termed = delivery();
    expect(termed.term()).toBe(true);
    expect(termed.outcome).toEqual({ type: 'term' });
    expect(termed.term('again')).toBe(true);
    const withReason = delivery();
    withReason.term('poison');
    expect(withReason.outcome).toEqual({ type: 'term', reason: 'poison' });
  });

  it('carries where the message was', () => {
    const d = delivery();
    expect([d.topic, d.partition, d.offset, d.attempt, d.envelope.id]).toEqual(['t', 2, '7', 1, 'm-1']);
  });
});

const base: DeadLetterInput = {
  sourceTopic: 'orders',
  group: 'g',
  reason: 'failed after 3 attempts',
  error: new Error('boom'),
  attempts: 3,
  key: 'wf-1',
  partition: 2,
  offset: '7',
};

describe('dead letters', () => {
  it('keep the original id, key, correlation id, traceparent and headers, and say what happened', () => {
    const letter = buildDeadLetter({ ...base, original: envelope as Envelope });
    expect(letter).toMatchObject({
      kind: 'dead-letter',
      id: 'm-1',
      key: 'wf-1',
      correlationId: 'c-1',
      traceparent: envelope.traceparent,
      headers: { tenant: 'acme' },
    });
    expect(letter.payload).toMatchObject({
      reason: 'failed after 3 attempts',
      error: { name: 'Error', message: 'boom' },
      attempts: 3,
      sourceTopic: 'orders',
      group: 'g',
      original: { id: 'm-1' },
    });
    expect(Number.isNaN(Date.parse((letter.payload as { deadLetteredAt: string }).deadLetteredAt))).toBe(false);
    expect((letter.payload as { raw?: string }).raw).toBeUndefined();
  });

  it('of undecodable bytes: named by where they were, the raw bytes in base64, a key even when the broker had none', () => {
    const raw = Uint8Array.from([1, 2, 255]);
    const letter = buildDeadLetter({ ...base, raw });
    expect(letter.id).toBe('orders/2/7');
    expect(letter.key).toBe('wf-1');
    expect((letter.payload as { raw: string }).raw).toBe('AQL/');
    expect(letter).not.toHaveProperty('correlationId');
    expect(buildDeadLetter({ ...base, raw, key: '' }).key).toBe('undecodable');
    expect(buildDeadLetter({ ...base, raw, key: 'k'.repeat(2_000) }).key).toBe('k'.repeat(1_024));
  });

  it('in minimal form: no original, no bytes, a long key shortened, the reason saying where the original was', () => {
    const minimal = buildMinimalDeadLetter({ ...base, original: { ...(envelope as Envelope), key: 'x'.repeat(300) }, raw: Uint8Array.from([1]) });
    expect((minimal.payload as { original?: unknown }).original).toBeUndefined();
    expect((minimal.payload as { raw?: unknown }).raw).toBeUndefined();
    expect(minimal.key).toBe(`${'x'.repeat(200)}…#300`);
    expect((minimal.payload as { reason: string }).reason).toBe('failed after 3 attempts (original left out: it could not be written; it was at orders/2/7)');
    expect(buildMinimalDeadLetter({ ...base, key: 'y'.repeat(256) }).key).toBe('y'.repeat(256));
    expect(buildMinimalDeadLetter({ ...base, key: 'y'.repeat(257) }).key).toBe(`${'y'.repeat(200)}…#257`);
  });

  it('describe any error: typed ones with their code, plain ones by name, anything else as text', () => {
    const decode = new DecodeError('bad');
    expect(describeError(decode)).toEqual({ name: decode.name, message: decode.message, code: 'DECODE_FAILED' });
    expect(describeError(new TypeError('t'))).toEqual({ name: 'TypeError', message: 't' });
    expect(describeError('just text')).toEqual({ name: 'Error', message: 'just text' });
    expect(describeError(42)).toEqual({ name: 'Error', message: '42' });
    expect(describeError(undefined)).toEqual({ name: 'Error', message: 'no error given' });
  });
});

const rec = (bytes: number, measured?: number) => ({
  partition: 0,
  offset: '0',
  key: 'k',
  value: new Uint8Array(bytes),
  attempt: 1,
  bytes: measured,
});

describe('InFlightBudget', () => {
  it('has room while both the count and the bytes are under their bounds', () => {
    const budget = new InFlightBudget(3, 1_000, 400);
    expect(budget.hasRoom()).toBe(true);
    budget.add(rec(999));
    expect(budget.hasRoom()).toBe(true);
    expect([budget.count, budget.bytes]).toEqual([1, 999]);
    budget.add(rec(1));
    expect(budget.bytes).toBe(1_000);
    expect(budget.hasRoom()).toBe(false); // bytes at the bound
    expect(budget.capacity).toBe(0);
    budget.release(rec(1));
    expect([budget.count, budget.bytes, budget.hasRoom()]).toEqual([1, 999, true]);
    const counted = new InFlightBudget(1, 1_000, 400);
    counted.add(rec(1));
    expect(counted.hasRoom()).toBe(false); // count at the bound
    expect(counted.capacity).toBe(0);
  });

  it('sizes a fetch by the bytes left over the average record, at least one, at most the count left', () => {
    const fresh = new InFlightBudget(100, 1_000, 400);
    expect(fresh.capacity).toBe(2); // no record seen yet: the largest allowed, 1000 / 400
    fresh.add(rec(100));
    expect(fresh.capacity).toBe(9); // 900 left / 100 average
    fresh.add(rec(900)); // average moves by an eighth: 100 + 800 / 8 = 200
    expect(fresh.bytes).toBe(1_000);
    expect(fresh.capacity).toBe(0);
    fresh.release(rec(900));
    expect(fresh.capacity).toBe(4); // 900 / 200
    const few = new InFlightBudget(2, 1_000_000, 10);
    few.add(rec(1));
    expect(few.capacity).toBe(1);
    const big = new InFlightBudget(10, 1_000, 10_000);
    expect(big.capacity).toBe(1); // one record always fits
  });

  it('moves the average record size an eighth of the way towards each new record', () => {
    const budget = new InFlightBudget(1_000, 10_000, 400);
    budget.add(rec(100));
    budget.add(rec(500)); // 100 + (500 - 100) / 8 = 150
    expect(budget.capacity).toBe(62); // 9400 left / 150
    budget.add(rec(150)); // stays 150
    expect(budget.capacity).toBe(61); // 9250 / 150
  });

  it('holding more than the count bound (an adapter pushed past it) leaves a capacity of 0, never below', () => {
    const budget = new InFlightBudget(2, 1_000_000, 100);
    for (let i = 0; i < 3; i += 1) budget.add(rec(10));
    expect(budget.hasRoom()).toBe(false);
    expect(budget.capacity).toBe(0);
  });

  it('counts measured bytes for records held decoded, and the byte length otherwise', () => {
    expect(recordBytes(rec(12))).toBe(12);
    expect(recordBytes(rec(12, 40))).toBe(40);
    expect(recordBytes({ partition: 0, offset: '0', key: 'k', value: envelope, attempt: 1, bytes: undefined })).toBe(0);
  });
});
