import type { Subscription } from '@a2a-bus/core';
import { expect } from 'vitest';
import { delay, textMessage, textOf, waitFor, waitForAssignment, type SuiteContext } from './context.js';

/** Consumer groups: competing members, independent groups, groups that outlive their members. */
export function groupCases(ctx: SuiteContext): void {
  const { partitions } = ctx.options;

  ctx.test(
    'competing consumers: each message handled once, by several members',
    ['consumerGroups'],
    async () => {
      const topic = ctx.topic('compete');
      const handledBy = new Map<string, string[]>();
      const members: Subscription[] = [];
      for (const name of ['a', 'b', 'c']) {
        const transport = await ctx.transport();
        members.push(
          await ctx.subscribe(
            transport,
            topic,
            (d) => {
              handledBy.set(d.envelope.id, [...(handledBy.get(d.envelope.id) ?? []), name]);
            },
            { group: 'workers' },
          ),
        );
      }
      await waitForAssignment(members, partitions, ctx.ms(20_000));
      const publisher = await ctx.transport();
      const receipts = await Promise.all(Array.from({ length: 90 }, (_, i) => publisher.publish(topic, textMessage(`wf-${i % 30}`, `m${i}`))));
      await waitFor('90 messages', () => handledBy.size >= 90, ctx.ms(20_000));
      await delay(ctx.redeliveryBound()); // a lost ack would show as a second handling by now
      expect(receipts.every((r) => handledBy.get(r.id)?.length === 1)).toBe(true);
      const workers = new Set([...handledBy.values()].flat());
      expect(workers.size).toBeGreaterThanOrEqual(2);
    },
    60_000,
  );

  ctx.test('independent groups each get every message', ['consumerGroups'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('fan-out');
    const byGroup = { audit: new Set<string>(), billing: new Set<string>() };
    for (const group of ['audit', 'billing'] as const) {
      await ctx.subscribe(transport, topic, (d) => void byGroup[group].add(textOf(d)), { group });
    }
    await Promise.all(Array.from({ length: 25 }, (_, i) => transport.publish(topic, textMessage(`k${i % 5}`, `m${i}`))));
    await waitFor('25 messages in both groups', () => byGroup.audit.size >= 25 && byGroup.billing.size >= 25, ctx.ms(15_000));
    expect(byGroup.audit.size).toBe(25);
    expect(byGroup.billing.size).toBe(25);
  });

  ctx.test(
    'a group created before publishing keeps its messages while no member runs',
    ['consumerGroups'],
    async () => {
      const transport = await ctx.transport();
      const topic = ctx.topic('keep');
      const early = await ctx.subscribe(transport, topic, () => {}, { group: 'late-reader', startFrom: 'latest' });
      await early.close();
      await Promise.all(Array.from({ length: 10 }, (_, i) => transport.publish(topic, textMessage(`k${i % 2}`, `m${i}`))));
      const seen = new Set<string>();
      const other = await ctx.transport();
      await ctx.subscribe(other, topic, (d) => void seen.add(textOf(d)), { group: 'late-reader', startFrom: 'latest' });
      await waitFor('the 10 messages published while no member ran', () => seen.size >= 10, ctx.ms(15_000));
      expect(seen.size).toBe(10);
    },
    60_000,
  );
}
