import { totalLag, type ConsumerLag, type Delivery, type Transport } from '@a2a-bus/core';
import { expect } from 'vitest';
import { textMessage, waitFor, type SuiteContext } from './context.js';

/** Consumer lag as data: rises with records the group has not acknowledged, falls to 0 once it has. */
export function lagCases(ctx: SuiteContext): void {
  ctx.test(
    'lag counts unacknowledged records per partition and falls to 0 after consumption',
    ['lag', 'consumerGroups'],
    async () => {
      const topic = ctx.topic('lag');
      const group = 'lag-readers';
      const first = await ctx.transport();
      const inspect = async (): Promise<ConsumerLag[]> => {
        const entries = await lagOf(first).inspectLag!({ topic, group });
        for (const entry of entries) expect(entry).toMatchObject({ topic, group });
        return entries;
      };
      const settled = async (expected: number, what: string): Promise<ConsumerLag[]> => {
        let entries: ConsumerLag[] = [];
        const deadline = Date.now() + ctx.ms(15_000);
        for (;;) {
          entries = await inspect();
          if (totalLag(entries) === expected) return entries;
          if (Date.now() > deadline) throw new Error(`lag of ${what}: expected ${expected}, got ${totalLag(entries)} (${JSON.stringify(entries)})`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };

      // 1. A group that consumed everything has lag 0 on every partition it reads.
      const handled = new Set<string>();
      let sub = await ctx.subscribe(first, topic, (d) => void handled.add(d.envelope.id), { group });
      const early = await Promise.all(Array.from({ length: 6 }, (_, i) => first.publish(topic, textMessage(`k${i}`, `early${i}`))));
      await waitFor('the first records', () => early.every((r) => handled.has(r.id)), ctx.ms(15_000));
      const caughtUp = await settled(0, 'a caught-up group');
      expect(caughtUp.length).toBeGreaterThan(0);
      for (const entry of caughtUp) expect(entry.lag).toBe(0);
      await sub.close();

      // 2. Records published while nobody reads: lag is exactly their count, on their partitions.
      const late = await Promise.all(Array.from({ length: 9 }, (_, i) => first.publish(topic, textMessage(`k${i}`, `late${i}`))));
      const behind = await settled(9, 'nine unread records');
      const perPartition = new Map<number, number>();
      for (const receipt of late) perPartition.set(receipt.partition, (perPartition.get(receipt.partition) ?? 0) + 1);
      for (const entry of behind) expect(entry.lag, `partition ${entry.partition}`).toBe(perPartition.get(entry.partition) ?? 0);
      for (const entry of behind) if (entry.end !== null) expect(entry.end).not.toBe('');

      // 3. Delivered but held by a handler: still lag; pending counted where the backend tracks it.
      let releaseHeld = (): void => {};
      const released = new Promise<void>((resolve) => (releaseHeld = resolve));
      const held: Delivery[] = [];
      const second = await ctx.transport();
      sub = await ctx.subscribe(
        second,
        topic,
        async (d) => {
          held.push(d);
          await released;
        },
        { group },
      );
      await waitFor('a held record', () => held.length > 0, ctx.ms(15_000));
      const holding = await inspect();
      expect(totalLag(holding)).toBe(9);
      const pending = holding.filter((entry) => entry.pending !== undefined);
      if (pending.length > 0) expect(pending.reduce((sum, entry) => sum + entry.pending!, 0)).toBeGreaterThan(0);
      const ages = holding.filter((entry) => entry.oldestUnackedAgeMs !== undefined && entry.lag > 0);
      for (const entry of ages) expect(entry.oldestUnackedAgeMs).toBeGreaterThanOrEqual(0);

      // 4. Consumed and acknowledged: back to 0.
      releaseHeld();
      await settled(0, 'the group after it caught up');
      await sub.close();
    },
    60_000,
  );
}

function lagOf(transport: Transport): Transport {
  if (!transport.inspectLag) throw new Error(`${transport.backend} declares lag but has no inspectLag`);
  return transport;
}
