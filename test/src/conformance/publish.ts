import { capabilityNames, InvalidEnvelopeError, type Delivery, type EnvelopeInput } from '@a2a-bus/core';
import { expect } from 'vitest';
import { replayAll, textMessage, textOf, waitFor, type SuiteContext } from './context.js';

/** Publishing: what goes in comes out unchanged, topics stay apart, nothing is lost. */
export function publishCases(ctx: SuiteContext): void {
  ctx.test('declares every capability, each with a support level and a note, as registered, on every client', [], async () => {
    // Two clients: a declaration that depends on a client's options or state shows as a difference.
    for (const transport of [await ctx.transport(), await ctx.transport()]) {
      const declared = transport.capabilities;
      expect(Object.keys(declared).sort()).toEqual([...capabilityNames].sort());
      for (const name of capabilityNames) {
        expect(['native', 'emulated', 'none'], `${name}.support`).toContain(declared[name].support);
        expect(declared[name].note.trim(), `${name}.note`).not.toBe('');
      }
      // The suite gates its cases on the registered declaration: it must be the transport's own.
      expect(declared).toEqual(ctx.capabilities);
    }
  });

  ctx.test('round trip keeps the id, the payload and every header', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('round-trip');
    const received: Delivery[] = [];
    await ctx.subscribe(transport, topic, (d) => void received.push(d), { group: 'g' });
    const sent: EnvelopeInput = textMessage('wf-1', 'hello ✓ ünïcödé', {
      id: 'env-round-trip-1',
      correlationId: 'corr-1',
      replyTo: `${topic}.replies`,
      deadline: new Date(Date.now() + 60_000).toISOString(),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      sender: 'agent-a',
      headers: { tenant: 'acme', 'x-trace': 'abc' },
    });
    const receipt = await transport.publish(topic, sent);
    expect(receipt).toMatchObject({ id: 'env-round-trip-1', topic });
    await waitFor('the message', () => received.length === 1, ctx.ms(10_000));
    const { envelope, attempt } = received[0]!;
    expect(attempt).toBe(1);
    expect(envelope).toMatchObject({ ...sent, v: 1, a2aVersion: '1.0', contentType: 'application/a2a+json' });
    expect(typeof envelope.createdAt).toBe('string');
  });

  ctx.test('binary payloads arrive byte for byte', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('binary');
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = (i * 31 + 7) & 0xff;
    const received: Delivery[] = [];
    await ctx.subscribe(transport, topic, (d) => void received.push(d), { group: 'g' });
    await transport.publish(topic, {
      kind: 'message',
      key: 'bin',
      payload: { messageId: 'm-bin', role: 'ROLE_AGENT', parts: [{ raw: bytes.toString('base64'), mediaType: 'application/octet-stream' }] },
    });
    await waitFor('the binary message', () => received.length === 1, ctx.ms(10_000));
    const envelope = received[0]!.envelope;
    if (envelope.kind !== 'message') throw new Error('expected a message');
    expect(Buffer.from(envelope.payload.parts[0]!.raw!, 'base64').equals(bytes)).toBe(true);
  });

  ctx.test('topics are isolated', [], async () => {
    const transport = await ctx.transport();
    const [a, b] = [ctx.topic('iso-a'), ctx.topic('iso-b')];
    const onA: string[] = [];
    const onB: string[] = [];
    await ctx.subscribe(transport, a, (d) => void onA.push(textOf(d)), { group: 'g' });
    await ctx.subscribe(transport, b, (d) => void onB.push(textOf(d)), { group: 'g' });
    await Promise.all([transport.publish(a, textMessage('k', 'for-a')), transport.publish(b, textMessage('k', 'for-b'))]);
    await waitFor('both messages', () => onA.length + onB.length === 2, ctx.ms(10_000));
    expect(onA).toEqual(['for-a']);
    expect(onB).toEqual(['for-b']);
  });

  ctx.test('many topics at once, each gets exactly its own', [], async () => {
    const transport = await ctx.transport();
    const topics = Array.from({ length: 12 }, (_, i) => ctx.topic(`many-${i}`));
    const got = new Map<string, string[]>(topics.map((t) => [t, []]));
    await Promise.all(topics.map((t) => ctx.subscribe(transport, t, (d) => void got.get(t)!.push(textOf(d)), { group: 'g' })));
    await Promise.all(topics.flatMap((t) => Array.from({ length: 10 }, (_, i) => transport.publish(t, textMessage(`k${i % 3}`, `${t}#${i}`)))));
    await waitFor('10 messages on each topic', () => [...got.values()].every((list) => list.length >= 10), ctx.ms(20_000));
    for (const [t, list] of got) {
      expect(list.length).toBe(10);
      expect(list.every((text) => text.startsWith(`${t}#`))).toBe(true);
    }
  });

  ctx.test(
    '10k parallel publishes, then close: nothing lost',
    [],
    async () => {
      const topic = ctx.topic('ten-k');
      const publisher = await ctx.transport();
      const receipts = await Promise.all(Array.from({ length: 10_000 }, (_, i) => publisher.publish(topic, textMessage(`k${i % 50}`, `m${i}`))));
      await publisher.close();
      const reader = await ctx.transport();
      const stored = new Set(await replayAll(reader, topic));
      expect(stored.size).toBe(10_000);
      expect(receipts.every((r) => stored.has(r.id))).toBe(true);
    },
    120_000,
  );

  ctx.test('batch publish: all delivered, in order per key', ['batchPublish'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('batch');
    const seen: string[] = [];
    await ctx.subscribe(transport, topic, (d) => void seen.push(textOf(d)), { group: 'g' });
    const batch = Array.from({ length: 200 }, (_, i) => textMessage(`k${i % 4}`, `k${i % 4}/${Math.floor(i / 4)}`));
    const receipts = await transport.publishBatch(topic, batch);
    expect(receipts).toHaveLength(200);
    expect(new Set(receipts.map((r) => r.id)).size).toBe(200);
    await waitFor('200 messages', () => seen.length >= 200, ctx.ms(20_000));
    for (let k = 0; k < 4; k += 1) {
      const seqs = seen.filter((t) => t.startsWith(`k${k}/`)).map((t) => Number(t.split('/')[1]));
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
  });

  ctx.test('an invalid envelope is refused at publish with a typed error naming the field', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('invalid');
    const bad = { kind: 'message', key: 'k', payload: { messageId: '', role: 'ROLE_ROBOT', parts: [] } } as unknown as EnvelopeInput;
    const error = await transport.publish(topic, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(InvalidEnvelopeError.isInstance(error)).toBe(true);
    expect((error as InvalidEnvelopeError).issues.join(' ')).toMatch(/payload\.messageId/);
    expect((error as InvalidEnvelopeError).issues.join(' ')).toMatch(/payload\.role/);
    // A batch with one bad envelope is refused whole.
    const batchError = await transport.publishBatch(topic, [textMessage('k', 'fine'), bad]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(InvalidEnvelopeError.isInstance(batchError)).toBe(true);
    expect(await replayAll(transport, topic)).toEqual([]);
  });
}
