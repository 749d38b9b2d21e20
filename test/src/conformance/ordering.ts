import type { Subscription } from '@a2a-bus/core';
import { expect } from 'vitest';
import { OrderChecker, delay, parseSeq, seqText, textMessage, textOf, waitFor, waitForAssignment, type SuiteContext } from './context.js';

/** Per-key order, parallelism across keys, and both kept through redelivery and rebalance. */
export function orderingCases(ctx: SuiteContext): void {
  const { partitions } = ctx.options;

  ctx.test('one key, one consumer: handled in publish order', ['perKeyOrder'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('one-key');
    const seqs: number[] = [];
    await ctx.subscribe(
      transport,
      topic,
      async (d) => {
        await delay(Math.random() < 0.2 ? 2 : 0);
        seqs.push(parseSeq(textOf(d)).seq);
      },
      { group: 'g' },
    );
    for (let i = 0; i < 60; i += 1) await transport.publish(topic, textMessage('wf', seqText('wf', i)));
    await waitFor('60 messages', () => seqs.length >= 60, ctx.ms(15_000));
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  ctx.test('one member runs different keys concurrently, each key in order', ['perKeyOrder'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('one-member-parallel');
    const order = new OrderChecker();
    let handled = 0;
    await ctx.subscribe(
      transport,
      topic,
      async (d) => {
        const { key, seq } = parseSeq(textOf(d));
        order.enter(key, seq);
        await delay(30);
        order.leave(key);
        handled += 1;
      },
      { group: 'g', maxInFlight: 16 },
    );
    const batch = [];
    for (let seq = 0; seq < 4; seq += 1) for (let k = 0; k < 8; k += 1) batch.push(textMessage(`wf-${k}`, seqText(`wf-${k}`, seq)));
    await transport.publishBatch(topic, batch);
    await waitFor('32 messages', () => handled >= 32, ctx.ms(30_000));
    expect(order.violations).toEqual([]);
    // One member alone, 8 keys: several run at once (serially it would be 1).
    expect(order.maxConcurrent).toBeGreaterThanOrEqual(4);
  });

  ctx.test(
    'many keys across 3 consumers: per-key order holds and keys run in parallel',
    ['perKeyOrder', 'consumerGroups'],
    async () => {
      const topic = ctx.topic('many-keys');
      const order = new OrderChecker();
      const perKey = new Map<string, number[]>();
      const members: Subscription[] = [];
      for (let m = 0; m < 3; m += 1) {
        const transport = await ctx.transport();
        members.push(
          await ctx.subscribe(
            transport,
            topic,
            async (d) => {
              const { key, seq } = parseSeq(textOf(d));
              order.enter(key, seq);
              await delay(15);
              perKey.set(key, [...(perKey.get(key) ?? []), seq]);
              order.leave(key);
            },
            { group: 'g', maxInFlight: 16 },
          ),
        );
      }
      await waitForAssignment(members, partitions, ctx.ms(20_000));
      const publisher = await ctx.transport();
      const keys = Array.from({ length: 12 }, (_, i) => `wf-${i}`);
      const batch = [];
      for (let seq = 0; seq < 8; seq += 1) for (const key of keys) batch.push(textMessage(key, seqText(key, seq)));
      for (const envelope of batch) await publisher.publish(topic, envelope);
      await waitFor('96 messages', () => [...perKey.values()].reduce((n, l) => n + l.length, 0) >= 96, ctx.ms(30_000));
      expect(order.violations).toEqual([]);
      for (const key of keys) expect(perKey.get(key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      // Serially, 96 handlers of 15 ms take ≥ 1440 ms; keys running side by side must show.
      expect(order.maxConcurrent).toBeGreaterThanOrEqual(3);
      expect(order.keysSeenConcurrently.size).toBeGreaterThanOrEqual(6);
    },
    60_000,
  );

  ctx.test('order survives redelivery: a nacked message holds its key', ['orderAcrossRedelivery'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('order-redelivery');
    const invocations: string[] = [];
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        const { seq } = parseSeq(textOf(d));
        invocations.push(`${seq}@${d.attempt}`);
        if ((seq === 3 || seq === 7) && d.attempt < 3) d.nack({ delayMs: 30 });
      },
      { group: 'g' },
    );
    for (let i = 0; i < 10; i += 1) await transport.publish(topic, textMessage('wf', seqText('wf', i)));
    await waitFor('all ten acknowledged', () => invocations.includes('9@1'), ctx.ms(15_000));
    expect(invocations).toEqual(['0@1', '1@1', '2@1', '3@1', '3@2', '3@3', '4@1', '5@1', '6@1', '7@1', '7@2', '7@3', '8@1', '9@1']);
  });

  ctx.test(
    'members joining and leaving mid-stream lose nothing and keep per-key order',
    ['rebalance', 'perKeyOrder'],
    async () => {
      const topic = ctx.topic('churn');
      const order = new OrderChecker();
      const handled = new Set<string>();
      const handler = async (d: Parameters<Parameters<typeof ctx.subscribe>[2]>[0]): Promise<void> => {
        const { key, seq } = parseSeq(textOf(d));
        order.enter(key, seq);
        await delay(2);
        handled.add(d.envelope.id);
        order.leave(key);
      };
      const join = async (): Promise<Subscription> => ctx.subscribe(await ctx.transport(), topic, handler, { group: 'g' });
      const publisher = await ctx.transport();
      const ids: string[] = [];
      const keys = Array.from({ length: 16 }, (_, i) => `wf-${i}`);
      let seq = 0;
      const wave = async (): Promise<void> => {
        for (let n = 0; n < 5; n += 1, seq += 1) {
          const receipts = await publisher.publishBatch(
            topic,
            keys.map((key) => textMessage(key, seqText(key, seq))),
          );
          ids.push(...receipts.map((r) => r.id));
        }
      };
      const a = await join();
      const b = await join();
      await wave();
      const c = await join();
      await wave();
      await a.close();
      await wave();
      const d = await join();
      await wave();
      await b.close();
      await wave();
      await waitFor(`all ${ids.length} messages`, () => ids.every((id) => handled.has(id)), ctx.ms(60_000));
      expect(order.violations).toEqual([]);
      await waitForAssignment([c, d], partitions, ctx.ms(30_000));
    },
    120_000,
  );
}
