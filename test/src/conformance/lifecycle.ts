import type { Delivery, PublishReceipt, Subscription, Transport } from '@a2a-bus/core';
import { expect } from 'vitest';
import { delay, replayAll, textMessage, textOf, waitFor, waitForAssignment, type SuiteContext } from './context.js';

/** Members that crash, close, reopen; brokers that restart. */
export function lifecycleCases(ctx: SuiteContext): void {
  const { partitions } = ctx.options;

  ctx.test(
    'a member that dies holding unacked messages: another member takes them over',
    ['crashRedelivery'],
    async () => {
      const topic = ctx.topic('crash');
      const survivorSaw = new Map<string, number>();
      const heldByVictim = new Set<string>();
      const survivor = await ctx.subscribe(
        await ctx.transport(),
        topic,
        (d) => {
          survivorSaw.set(d.envelope.id, d.attempt);
        },
        { group: 'g' },
      );
      const victim = await ctx.subscribe(
        await ctx.transport(),
        topic,
        (d) => {
          heldByVictim.add(d.envelope.id);
          return new Promise<void>(() => {}); // hangs: never settles
        },
        { group: 'g' },
      );
      await waitForAssignment([survivor, victim], partitions, ctx.ms(30_000));
      const publisher = await ctx.transport();
      const receipts = await Promise.all(Array.from({ length: 40 }, (_, i) => publisher.publish(topic, textMessage(`wf-${i % 20}`, `m${i}`))));
      await waitFor('the victim to hold messages', () => heldByVictim.size >= 1, ctx.ms(15_000));
      await delay(ctx.ms(200));
      await victim.close({ drainTimeoutMs: 0 }); // crash: nothing more is acknowledged
      await waitFor('every message handled by the survivor', () => receipts.every((r) => survivorSaw.has(r.id)), ctx.ms(45_000));
      for (const id of heldByVictim) expect(survivorSaw.has(id)).toBe(true);
    },
    90_000,
  );

  ctx.test(
    'a given-up delivery is fenced: its signal aborts, a late ack returns false, the next member gets it',
    ['crashRedelivery'],
    async () => {
      const topic = ctx.topic('fenced');
      let held: Delivery | undefined;
      const victim = await ctx.subscribe(
        await ctx.transport(),
        topic,
        (d) => {
          held = d;
          return new Promise<void>(() => {}); // runs on, ignoring its signal
        },
        { group: 'g' },
      );
      const receipt = await (await ctx.transport()).publish(topic, textMessage('k', 'held'));
      await waitFor('the victim to hold it', () => held !== undefined, ctx.ms(15_000));
      await victim.close({ drainTimeoutMs: 0 });
      expect(held!.signal.aborted).toBe(true);
      expect(held!.ack()).toBe(false); // too late: it changes nothing
      const next: string[] = [];
      await ctx.subscribe(await ctx.transport(), topic, (d) => void next.push(d.envelope.id), { group: 'g' });
      await waitFor('the message at the next member', () => next.includes(receipt.id), ctx.ms(45_000));
    },
    90_000,
  );

  ctx.test(
    'closing and reopening members in batches loses nothing',
    ['rebalance'],
    async () => {
      const topic = ctx.topic('reopen');
      const handled = new Set<string>();
      const open = async (): Promise<Subscription> => ctx.subscribe(await ctx.transport(), topic, (d) => void handled.add(d.envelope.id), { group: 'g' });
      let members = [await open(), await open()];
      const publisher = await ctx.transport();
      const ids: string[] = [];
      for (let round = 0; round < 4; round += 1) {
        const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publish(topic, textMessage(`wf-${i % 10}`, `r${round}-${i}`))));
        ids.push(...receipts.map((r) => r.id));
        await Promise.all(members.map((m) => m.close()));
        members = [await open(), await open()];
      }
      await waitFor(`all ${ids.length} messages`, () => ids.every((id) => handled.has(id)), ctx.ms(60_000));
    },
    120_000,
  );

  ctx.test('concurrent close is safe', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('concurrent-close');
    const subs = await Promise.all(['a', 'b', 'c'].map((group) => ctx.subscribe(transport, topic, () => {}, { group })));
    await transport.publish(topic, textMessage('k', 'x'));
    const closes = [...subs.flatMap((s) => [s.close(), s.close()]), transport.close(), transport.close()];
    const results = await Promise.allSettled(closes);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  ctx.test(
    'close drains: in-flight handlers finish and are acknowledged',
    [],
    async () => {
      const topic = ctx.topic('drain');
      const first = await ctx.transport();
      const finished: string[] = [];
      let started = 0;
      const sub = await ctx.subscribe(
        first,
        topic,
        async (d) => {
          started += 1;
          await delay(300);
          finished.push(d.envelope.id);
        },
        { group: 'g' },
      );
      const receipts = await Promise.all(Array.from({ length: 5 }, (_, i) => first.publish(topic, textMessage(`k${i}`, `slow${i}`))));
      await waitFor('five handlers running', () => started >= 5, ctx.ms(15_000));
      await sub.close();
      expect(finished.sort()).toEqual(receipts.map((r) => r.id).sort());
      // Nothing of it comes back to the next member of the group.
      const again: string[] = [];
      const second = await ctx.transport();
      await ctx.subscribe(second, topic, (d) => void again.push(d.envelope.id), { group: 'g' });
      const markers = await Promise.all(Array.from({ length: 5 }, (_, i) => second.publish(topic, textMessage(`k${i}`, `marker${i}`))));
      await waitFor('a marker on every key', () => markers.every((m) => again.includes(m.id)), ctx.ms(20_000));
      await delay(ctx.redeliveryBound());
      expect(again.sort()).toEqual(markers.map((m) => m.id).sort());
    },
    60_000,
  );

  ctx.test(
    'close during a retry wait returns at once and the message goes to the next member',
    ['delayedNack'],
    async () => {
      const topic = ctx.topic('close-in-retry');
      const first = await ctx.transport();
      let firstAttempts = 0;
      const sub = await ctx.subscribe(
        first,
        topic,
        (d) => {
          firstAttempts += 1;
          d.nack({ delayMs: 60_000 });
        },
        { group: 'g' },
      );
      const receipt = await first.publish(topic, textMessage('k', 'held'));
      await waitFor('the first attempt', () => firstAttempts === 1, ctx.ms(15_000));
      const started = performance.now();
      await sub.close();
      expect(performance.now() - started).toBeLessThan(ctx.ms(10_000));
      const next: string[] = [];
      await ctx.subscribe(await ctx.transport(), topic, (d) => void next.push(d.envelope.id), { group: 'g' });
      await waitFor('the held message at the next member', () => next.includes(receipt.id), ctx.ms(30_000));
      expect(firstAttempts).toBe(1);
    },
    60_000,
  );

  ctx.test(
    'broker restart mid-stream loses nothing acknowledged',
    ['brokerRestart'],
    () =>
      withRestartableBroker(ctx, async (restart, client) => {
        const topic = ctx.topic('restart');
        const handled = new Set<string>();
        const consumer = await client();
        await ctx.subscribe(consumer, topic, (d) => void handled.add(d.envelope.id), { group: 'g' });
        const publisher = await client();
        const ids: string[] = [];
        const publishSome = async (from: number): Promise<void> => {
          for (let i = from; i < from + 30; i += 1) {
            // A publish may fail while the broker is away; an unresolved one is not owed.
            for (let tries = 0; ; tries += 1) {
              try {
                ids.push((await publisher.publish(topic, textMessage(`wf-${i % 6}`, `m${i}`))).id);
                break;
              } catch (error) {
                if (tries > 50) throw error;
                await delay(200);
              }
            }
          }
        };
        await publishSome(0);
        await waitFor('the first 30 handled', () => ids.every((id) => handled.has(id)), ctx.ms(20_000));
        await restart.restartBroker();
        await publishSome(30);
        await waitFor('all 60 handled', () => ids.every((id) => handled.has(id)), ctx.ms(60_000));
        const reader = await client();
        expect(new Set(await replayAll(reader, topic))).toEqual(new Set(ids));
      }),
    120_000,
  );

  ctx.test(
    'a publish made while the broker restarts waits for it (publishTimeoutMs), resolves once it is back, and is consumed',
    ['brokerRestart'],
    () =>
      withRestartableBroker(ctx, async (restart, client) => {
        const topic = ctx.topic('restart-publish');
        const handled: string[] = [];
        const consumer = await client();
        await ctx.subscribe(consumer, topic, (d) => void handled.push(textOf(d)), { group: 'g' });
        const publisher = await client();
        await publisher.publish(topic, textMessage('k', 'before'));
        await waitFor('the message before the restart', () => handled.includes('before'), ctx.ms(20_000));
        // Sent while the broker is down (the default publishTimeoutMs, 30 s, outlasts the restart).
        let during: Promise<PublishReceipt> | undefined;
        await restart.restartBroker(() => {
          during = publisher.publish(topic, textMessage('k', 'during'));
          during.catch(() => undefined); // awaited below
        });
        if (!during) throw new Error(`${ctx.name}: restartBroker did not call whileDown between stopping and starting the broker`);
        const receipt = await during;
        expect(receipt.topic).toBe(topic);
        await publisher.publish(topic, textMessage('k', 'after'));
        await waitFor('both messages after the restart', () => handled.includes('during') && handled.includes('after'), ctx.ms(60_000));
        // In key order (a redelivery after the restart may repeat one; at least once).
        expect(handled.indexOf('during')).toBeLessThan(handled.indexOf('after'));
      }),
    120_000,
  );
}

/** Runs a case against the suite's restartable broker with transports of its own (closed after). */
async function withRestartableBroker(
  ctx: SuiteContext,
  body: (restart: NonNullable<SuiteContext['options']['restart']>, client: () => Promise<Transport>) => Promise<void>,
): Promise<void> {
  const restart = ctx.options.restart;
  if (!restart) throw new Error(`${ctx.name} declares brokerRestart but passed no restart hook to the suite`);
  const clients: Transport[] = [];
  try {
    await body(restart, async () => {
      const transport = await restart.createTransport();
      clients.push(transport);
      return transport;
    });
  } finally {
    await Promise.allSettled(clients.map((t) => t.close({ drainTimeoutMs: 1_000 })));
  }
}
