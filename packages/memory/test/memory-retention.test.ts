import { InvalidOptionsError, type EnvelopeInput } from '@a2a-bus/core';
import { ManualClock } from '@a2a-bus/core/adapter';
import { describe, expect, it } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../src/index.js';
import { DEFAULT_MEMORY_RETENTION } from '../src/retention.js';

const msg = (key: string, text: string): EnvelopeInput => ({ kind: 'message', key, payload: { messageId: text, role: 'ROLE_USER', parts: [{ text }] } });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets handlers run until `done` holds (fails after `rounds` event-loop turns). */
async function until(what: string, done: () => boolean, rounds = 20_000): Promise<void> {
  for (let i = 0; i < rounds; i += 1) {
    if (done()) return;
    await flush();
  }
  throw new Error(`never happened: ${what}`);
}

function kept(broker: MemoryBroker, topic: string): number[] {
  return broker.existingTopic(topic)!.partitions.map((log) => log.length);
}

describe('memory log retention', () => {
  it('a long run with a small limit keeps the log bounded while a fast and a slow group each get every message, in order per key', async () => {
    const clock = new ManualClock(1_000);
    const broker = new MemoryBroker();
    const maxRecords = 40;
    const transport = createMemoryTransport({ broker, clock, partitions: 2, retention: { maxRecords } });
    const fast: string[] = [];
    const slow = new Map<string, string[]>();
    let slowCount = 0;
    await transport.subscribe('t', (d) => void fast.push(d.envelope.id), { group: 'fast' });
    await transport.subscribe(
      't',
      async (d) => {
        for (let i = 0; i < 3; i += 1) await flush(); // slower than the fast group: trimming must wait for it
        const seen = slow.get(d.envelope.key) ?? [];
        seen.push(d.envelope.id);
        slow.set(d.envelope.key, seen);
        slowCount += 1;
      },
      { group: 'slow', maxInFlight: 4 },
    );
    const published = new Map<string, string[]>();
    let total = 0;
    let longest = 0;
    for (let round = 0; round < 50; round += 1) {
      const batch = Array.from({ length: 100 }, (_, j) => msg(`k${j % 6}`, `m${round}-${j}`));
      const receipts = await transport.publishBatch('t', batch);
      receipts.forEach((receipt, j) => {
        published.set(batch[j]!.key, [...(published.get(batch[j]!.key) ?? []), receipt.id]);
      });
      total += receipts.length;
      longest = Math.max(longest, ...kept(broker, 't'));
      await until('both groups to catch up', () => fast.length === total && slowCount === total);
      longest = Math.max(longest, ...kept(broker, 't'));
    }
    expect(new Set(fast).size).toBe(5_000);
    for (const [key, ids] of published) expect(slow.get(key)).toEqual(ids); // every message, in publish order
    // 5 000 published over 2 partitions; kept per partition: the limit, plus the records of one
    // batch not yet read by the slow group, plus at most one check interval (ceil(40 / 8) = 5).
    expect(longest).toBeLessThanOrEqual(maxRecords + 100 + 5);
    await transport.publishBatch(
      't',
      Array.from({ length: 20 }, (_, j) => msg(`k${j}`, `tail-${j}`)),
    );
    await until('the tail to be read', () => slowCount === total + 20);
    await transport.publishBatch(
      't',
      Array.from({ length: 20 }, (_, j) => msg(`k${j}`, `tail2-${j}`)),
    );
    for (const length of kept(broker, 't')) expect(length).toBeLessThanOrEqual(maxRecords + 5);
    await transport.close();
  });

  it('a slow group holds back trimming: nothing it has not acknowledged is dropped, and it gets all once it moves', async () => {
    const clock = new ManualClock();
    const broker = new MemoryBroker();
    const transport = createMemoryTransport({ broker, clock, partitions: 1, retention: { maxRecords: 10 } });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stuck: string[] = [];
    const fast: string[] = [];
    await transport.subscribe(
      't',
      async (d) => {
        await released;
        stuck.push(d.envelope.id);
      },
      { group: 'stuck', maxInFlight: 1 },
    );
    await transport.subscribe('t', (d) => void fast.push(d.envelope.id), { group: 'fast' });
    const ids = (
      await transport.publishBatch(
        't',
        Array.from({ length: 300 }, (_, i) => msg('k', `m${i}`)),
      )
    ).map((r) => r.id);
    await until('the fast group to read everything', () => fast.length === 300);
    // The stuck group's first record is pending: the floor is offset 0, so nothing went.
    expect(kept(broker, 't')).toEqual([300]);
    release();
    await until('the stuck group to read everything', () => stuck.length === 300);
    expect(stuck).toEqual(ids);
    await transport.publishBatch(
      't',
      Array.from({ length: 20 }, (_, i) => msg('k', `n${i}`)),
    );
    await until('both groups to read the tail', () => stuck.length === 320 && fast.length === 320);
    await transport.publishBatch(
      't',
      Array.from({ length: 2 }, (_, i) => msg('k', `o${i}`)),
    );
    expect(kept(broker, 't')[0]).toBeLessThanOrEqual(10 + 2); // check interval ceil(10 / 8) = 2
    await transport.close();
  });

  it('a durable group whose members are all gone keeps its unread records until it comes back', async () => {
    const broker = new MemoryBroker();
    const transport = createMemoryTransport({ broker, clock: new ManualClock(), partitions: 1, retention: { maxRecords: 5 } });
    const away = await transport.subscribe('t', () => {}, { group: 'away' });
    await away.close();
    const ids = (
      await transport.publishBatch(
        't',
        Array.from({ length: 100 }, (_, i) => msg('k', `m${i}`)),
      )
    ).map((r) => r.id);
    expect(kept(broker, 't')).toEqual([100]);
    const got: string[] = [];
    await transport.subscribe('t', (d) => void got.push(d.envelope.id), { group: 'away' });
    await until('the returning group to read everything', () => got.length === 100);
    expect(got).toEqual(ids);
    await transport.close();
  });

  it('by age and by bytes; replay and lag read only what is kept', async () => {
    const clock = new ManualClock(10_000);
    const broker = new MemoryBroker();
    const transport = createMemoryTransport({ broker, clock, partitions: 1, retention: { maxAgeMs: 1_000 } });
    await transport.publishBatch(
      'old',
      Array.from({ length: 100 }, (_, i) => msg('k', `old${i}`)),
    );
    clock.advance(2_000);
    const fresh = (
      await transport.publishBatch(
        'old',
        Array.from({ length: 64 }, (_, i) => msg('k', `new${i}`)),
      )
    ).map((r) => r.id);
    // Without a count limit the check runs every 64 appends: the 100 older than 1 s are gone.
    expect(kept(broker, 'old')).toEqual([64]);
    const replayed: string[] = [];
    for await (const record of transport.replay('old')) replayed.push(record.envelope!.id);
    expect(replayed).toEqual(fresh);
    const fromTrimmedOffset: string[] = [];
    for await (const record of transport.replay('old', { from: { partition: 0, offset: '3' } })) fromTrimmedOffset.push(record.offset);
    expect(fromTrimmedOffset[0]).toBe('100');
    const late: string[] = [];
    const group = await transport.subscribe('old', (d) => void late.push(d.envelope.id), { group: 'late' });
    await until('the late group to read what is kept', () => late.length === 64);
    expect(late).toEqual(fresh); // a new group starts at the oldest record kept
    const [lag] = await transport.inspectLag!({ topic: 'old', group: 'late' });
    expect(lag).toMatchObject({ committed: '164', end: '164', lag: 0 });
    await group.close();

    const bytes = createMemoryTransport({ broker, clock, partitions: 1, retention: { maxBytes: 20_000 } });
    await bytes.publishBatch(
      'big',
      Array.from({ length: 200 }, (_, i) => msg('k', `${'x'.repeat(1_000)}${i}`)),
    );
    const log = broker.existingTopic('big')!.partitions[0]!;
    expect(log.bytes).toBeLessThanOrEqual(20_000 + 64 * 1_400);
    expect(log.start).toBeGreaterThan(0);
    await transport.close();
    await bytes.close();
  });

  it('is on by default with documented limits; per topic overrides; false keeps everything', async () => {
    const broker = new MemoryBroker();
    const defaults = createMemoryTransport({ broker });
    await defaults.publish('d', msg('k', 'a'));
    expect(broker.existingTopic('d')!.retention).toEqual(DEFAULT_MEMORY_RETENTION);
    expect(DEFAULT_MEMORY_RETENTION).toEqual({ maxRecords: 10_000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 7 * 86_400_000 });

    const mixed = createMemoryTransport({ broker, partitions: 1, retention: { maxRecords: 3, topics: { audit: false, small: { maxRecords: 1 } } } });
    for (const topic of ['audit', 'small', 'other']) {
      for (let i = 0; i < 20; i += 1) await mixed.publish(topic, msg('k', `${topic}${i}`));
    }
    expect(broker.existingTopic('audit')!.partitions[0]!.length).toBe(20);
    expect(broker.existingTopic('small')!.partitions[0]!.length).toBe(1);
    expect(broker.existingTopic('other')!.partitions[0]!.length).toBeLessThanOrEqual(3);

    const keepAll = createMemoryTransport({ broker, partitions: 1, retention: false });
    for (let i = 0; i < 200; i += 1) await keepAll.publish('all', msg('k', `a${i}`));
    expect(broker.existingTopic('all')!.partitions[0]!.length).toBe(200);
    await Promise.all([defaults.close(), mixed.close(), keepAll.close()]);
  });

  it('refuses a bad limit naming the field', () => {
    expect(() => createMemoryTransport({ retention: { maxRecords: 0 } })).toThrow(InvalidOptionsError);
    expect(() => createMemoryTransport({ retention: { maxRecords: 0 } })).toThrow(/retention/);
    expect(() => createMemoryTransport({ retention: { maxRecord: 5 } as never })).toThrow(/maxRecord/);
  });
});
