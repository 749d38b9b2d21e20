import { expect } from 'vitest';
import { delay, textMessage, waitFor, type SuiteContext } from './context.js';

/** Backpressure: a slow handler slows intake; nothing is dropped, nothing piles up. */
export function flowCases(ctx: SuiteContext): void {
  ctx.test(
    'bounded in-flight under a slow handler, nothing dropped',
    ['backpressure'],
    async () => {
      const transport = await ctx.transport();
      const topic = ctx.topic('backpressure');
      let running = 0;
      let maxRunning = 0;
      const done = new Set<string>();
      await ctx.subscribe(
        transport,
        topic,
        async (d) => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await delay(40);
          running -= 1;
          done.add(d.envelope.id);
        },
        { group: 'g', maxInFlight: 4 },
      );
      const receipts = await transport.publishBatch(
        topic,
        Array.from({ length: 48 }, (_, i) => textMessage(`key-${i}`, `m${i}`)),
      );
      await waitFor('48 messages', () => done.size >= 48, ctx.ms(30_000));
      expect(maxRunning).toBeLessThanOrEqual(4);
      expect(maxRunning).toBeGreaterThanOrEqual(2);
      expect(receipts.every((r) => done.has(r.id))).toBe(true);
    },
    60_000,
  );
}
