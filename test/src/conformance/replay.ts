import { expect } from 'vitest';
import { delay, replayAll, textMessage, waitFor, type SuiteContext } from './context.js';

/** Replay: the audit trail, readable from anywhere without touching live cursors. */
export function replayCases(ctx: SuiteContext): void {
  ctx.test('replay from the beginning returns every record, in order per key', ['replayFromOffset'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('replay-all');
    const receipts = [];
    for (let i = 0; i < 30; i += 1) receipts.push(await transport.publish(topic, textMessage(`wf-${i % 3}`, `wf-${i % 3}/${Math.floor(i / 3)}`)));
    const records = [];
    for await (const record of transport.replay(topic, { from: { beginning: true } })) records.push(record);
    expect(records.map((r) => r.envelope?.id).sort()).toEqual(receipts.map((r) => r.id).sort());
    for (let k = 0; k < 3; k += 1) {
      const texts = records.filter((r) => r.key === `wf-${k}`).map((r) => (r.envelope?.kind === 'message' ? r.envelope.payload.parts[0]?.text : ''));
      expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `wf-${k}/${i}`));
    }
    const only = [];
    for await (const record of transport.replay(topic, { key: 'wf-1' })) only.push(record.key);
    expect(only).toEqual(Array(10).fill('wf-1'));
  });

  ctx.test('replay from an offset reads that partition from there on', ['replayFromOffset'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('replay-offset');
    const receipts = [];
    for (let i = 0; i < 12; i += 1) receipts.push(await transport.publish(topic, textMessage('wf', `m${i}`)));
    const start = receipts[5]!;
    const ids = [];
    for await (const record of transport.replay(topic, { from: { partition: start.partition, offset: start.offset } })) ids.push(record.envelope?.id);
    expect(ids).toEqual(receipts.slice(5).map((r) => r.id));
  });

  ctx.test('replay from a timestamp returns what was published since', ['replayFromTimestamp'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('replay-time');
    for (let i = 0; i < 10; i += 1) await transport.publish(topic, textMessage(`k${i % 4}`, `old${i}`));
    await delay(50);
    const since = Date.now();
    await delay(5);
    const fresh = [];
    for (let i = 0; i < 10; i += 1) fresh.push((await transport.publish(topic, textMessage(`k${i % 4}`, `new${i}`))).id);
    const ids = [];
    for await (const record of transport.replay(topic, { from: { timestamp: since } })) ids.push(record.envelope?.id);
    expect(ids.sort()).toEqual(fresh.sort());
  });

  ctx.test('a replay under way reads up to the end it started with, not what is published meanwhile', ['replayFromOffset'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('replay-end');
    const before = await Promise.all(Array.from({ length: 16 }, (_, i) => transport.publish(topic, textMessage(`k${i % 8}`, `before${i}`))));
    const iterator = transport.replay(topic)[Symbol.asyncIterator]();
    const first = await iterator.next(); // the replay has begun
    await Promise.all(Array.from({ length: 16 }, (_, i) => transport.publish(topic, textMessage(`k${i % 8}`, `after${i}`))));
    const ids = [first.value?.envelope?.id];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) ids.push(next.value.envelope?.id);
    expect(ids.sort()).toEqual(before.map((r) => r.id).sort());
  });

  ctx.test(
    "replay does not move a group's cursor",
    ['replayFromOffset', 'consumerGroups'],
    async () => {
      const topic = ctx.topic('replay-cursor');
      const first = await ctx.transport();
      const seen: string[] = [];
      const sub = await ctx.subscribe(first, topic, (d) => void seen.push(d.envelope.id), { group: 'live' });
      const before = await Promise.all(Array.from({ length: 10 }, (_, i) => first.publish(topic, textMessage(`k${i % 2}`, `a${i}`))));
      await waitFor('the first 10', () => before.every((r) => seen.includes(r.id)), ctx.ms(15_000));
      await sub.close();
      const after = await Promise.all(Array.from({ length: 10 }, (_, i) => first.publish(topic, textMessage(`k${i % 2}`, `b${i}`))));
      expect((await replayAll(first, topic)).length).toBe(20);
      const second = await ctx.transport();
      const resumed: string[] = [];
      await ctx.subscribe(second, topic, (d) => void resumed.push(d.envelope.id), { group: 'live' });
      await waitFor('the 10 published after', () => after.every((r) => resumed.includes(r.id)), ctx.ms(20_000));
      await delay(ctx.redeliveryBound());
      expect(resumed.sort()).toEqual(after.map((r) => r.id).sort());
    },
    60_000,
  );
}
