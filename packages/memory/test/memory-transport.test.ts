import { InvalidOptionsError, type EnvelopeInput } from '@a2a-bus/core';
import { ManualClock } from '@a2a-bus/core/adapter';
import { describe, expect, it } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../src/index.js';

const msg = (key: string, text: string): EnvelopeInput => ({ kind: 'message', key, payload: { messageId: text, role: 'ROLE_USER', parts: [{ text }] } });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('memory transport (reference implementation)', () => {
  it('runs retry delays on the injected clock: never early, at once when due', async () => {
    const clock = new ManualClock(1_000);
    const transport = createMemoryTransport({ broker: new MemoryBroker(), clock });
    const attempts: number[] = [];
    await transport.subscribe(
      't',
      (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) d.nack({ delayMs: 60_000 });
      },
      { group: 'g' },
    );
    await transport.publish('t', msg('k', 'a'));
    await flush();
    expect(attempts).toEqual([1]);
    clock.advance(59_999);
    await flush();
    expect(attempts).toEqual([1]);
    clock.advance(1);
    await flush();
    expect(attempts).toEqual([1, 2]);
    await transport.close();
  });

  it('backs off exponentially by the retry policy, then dead-letters', async () => {
    const clock = new ManualClock();
    const broker = new MemoryBroker();
    const transport = createMemoryTransport({ broker, clock });
    const at: number[] = [];
    await transport.subscribe(
      't',
      () => {
        at.push(clock.now());
        throw new Error('down');
      },
      { group: 'g', retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 250, jitter: 0 } },
    );
    await transport.publish('t', msg('k', 'a'));
    for (let i = 0; i < 20; i += 1) {
      await flush();
      clock.advance(50);
    }
    expect(at).toEqual([0, 100, 300, 550]); // 100, 200, then capped at 250
    const dead = [];
    for await (const record of transport.replay('t.dlq')) dead.push(record.envelope);
    expect(dead).toHaveLength(1);
    await transport.close();
  });

  it('a broker restart is clients torn down and rebuilt: the log and group cursors live on', async () => {
    const broker = new MemoryBroker();
    const first = createMemoryTransport({ broker });
    const seen: string[] = [];
    await first.subscribe('t', (d) => void seen.push(d.envelope.id), { group: 'g' });
    const a = await first.publish('t', msg('k', 'a'));
    await flush();
    await first.close();
    const second = createMemoryTransport({ broker });
    const b = await second.publish('t', msg('k', 'b'));
    await second.subscribe('t', (d) => void seen.push(d.envelope.id), { group: 'g' });
    await flush();
    expect(seen).toEqual([a.id, b.id]);
    await second.close();
  });

  it('transports with the same name share a log; options are validated at construction', async () => {
    const one = createMemoryTransport({ name: 'shared-test' });
    const two = createMemoryTransport({ name: 'shared-test' });
    const receipt = await one.publish('t', msg('k', 'x'));
    const ids = [];
    for await (const record of two.replay('t')) ids.push(record.envelope?.id);
    expect(ids).toEqual([receipt.id]);
    expect(() => createMemoryTransport({ partitions: 0 })).toThrow(InvalidOptionsError);
    expect(() => createMemoryTransport({ partitions: 0 })).toThrow(/invalid option `partitions`/);
    await Promise.all([one.close(), two.close()]);
  });

  it('refuses to publish after close, naming the operation', async () => {
    const transport = createMemoryTransport({ broker: new MemoryBroker() });
    await transport.close();
    await expect(transport.publish('t', msg('k', 'x'))).rejects.toThrow(/cannot publish: the transport is closed/);
  });
});

describe('memory transport ack timeout', () => {
  it('drops a member whose handler hangs past ackTimeoutMs and redelivers to another', async () => {
    const clock = new ManualClock();
    const broker = new MemoryBroker();
    const hung = createMemoryTransport({ broker, clock, ackTimeoutMs: 1_000, partitions: 1 });
    const healthy = createMemoryTransport({ broker, clock, ackTimeoutMs: 1_000, partitions: 1 });
    let aborted = false;
    const hungSub = await hung.subscribe('t', (d) => new Promise<void>(() => d.signal.addEventListener('abort', () => (aborted = true))), { group: 'g' });
    await flush();
    const receipt = await hung.publish('t', msg('k', 'stuck'));
    await flush();
    const got: Array<[string, number]> = [];
    await healthy.subscribe('t', (d) => void got.push([d.envelope.id, d.attempt]), { group: 'g' });
    clock.advance(999);
    await flush();
    expect(got).toEqual([]);
    for (let i = 0; i < 5; i += 1) {
      clock.advance(250);
      await flush();
    }
    expect(aborted).toBe(true);
    expect(hungSub.assignedPartitions()).toEqual([]);
    expect(got).toEqual([[receipt.id, 2]]);
    await Promise.all([hung.close(), healthy.close()]);
  });
});
