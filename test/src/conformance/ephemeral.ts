import { expect } from 'vitest';
import { textMessage, textOf, waitFor, type SuiteContext } from './context.js';

/** Ephemeral subscriptions: per-process cursors that share no state and outlive nothing. */
export function ephemeralCases(ctx: SuiteContext): void {
  ctx.test(
    'ephemeral subscriptions with one group name are independent: each gets every message from where it started',
    [],
    async () => {
      const transport = await ctx.transport();
      const topic = ctx.topic('ephemeral');
      await transport.publish(topic, textMessage('k', 'before'));
      const a: string[] = [];
      const b: string[] = [];
      const subA = await ctx.subscribe(transport, topic, (d) => void a.push(textOf(d)), { group: 'cursor', ephemeral: true, startFrom: 'latest' });
      const subB = await ctx.subscribe(transport, topic, (d) => void b.push(textOf(d)), { group: 'cursor', ephemeral: true, startFrom: 'latest' });
      expect(subA.group).not.toBe(subB.group);
      // 'latest' may be fixed once partitions are assigned: publish until both read.
      for (let i = 0; a.length === 0 || b.length === 0; i += 1) {
        if (i > 100) throw new Error(`ephemeral subscriptions not live: a=${a.length} b=${b.length}`);
        await transport.publish(topic, textMessage(`k${i % 4}`, `probe-${i}`));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await transport.publishBatch(
        topic,
        Array.from({ length: 10 }, (_, i) => textMessage(`k${i % 4}`, `m${i}`)),
      );
      const wanted = Array.from({ length: 10 }, (_, i) => `m${i}`);
      await waitFor('both to get all ten', () => wanted.every((m) => a.includes(m) && b.includes(m)), ctx.ms(15_000));
      expect(a).not.toContain('before');
      expect(b).not.toContain('before');
      await subA.close();
      await subB.close();
      // A new ephemeral subscription is a new cursor: it does not resume where the closed one was.
      const c: string[] = [];
      await ctx.subscribe(transport, topic, (d) => void c.push(textOf(d)), { group: 'cursor', ephemeral: true, startFrom: 'earliest' });
      await waitFor('the whole topic again', () => c.includes('before') && wanted.every((m) => c.includes(m)), ctx.ms(15_000));
    },
    60_000,
  );
}
