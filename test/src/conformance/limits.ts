import { createEnvelope, type Transport, DEFAULT_MAX_ENVELOPE_BYTES, encodeEnvelope, PayloadTooLargeError, type Delivery } from '@a2a-bus/core';
import { expect } from 'vitest';
import { delay, replayAll, textMessage, textOf, waitFor, type SuiteContext } from './context.js';

/** Limits on input: envelope size at publish and at consume, bytes held in flight. */
export function limitCases(ctx: SuiteContext): void {
  ctx.test('an oversized envelope is refused at publish with PayloadTooLargeError naming size and limit', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('too-large');
    const huge = textMessage('k', 'x'.repeat(2 * DEFAULT_MAX_ENVELOPE_BYTES));
    const error = await transport.publish(topic, huge).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(PayloadTooLargeError.isInstance(error)).toBe(true);
    const tooLarge = error as PayloadTooLargeError;
    expect(tooLarge.limit).toBe(DEFAULT_MAX_ENVELOPE_BYTES);
    expect(tooLarge.size).toBeGreaterThan(2 * DEFAULT_MAX_ENVELOPE_BYTES);
    expect(tooLarge.message).toContain(String(tooLarge.size));
    expect(tooLarge.message).toContain(String(DEFAULT_MAX_ENVELOPE_BYTES));
    expect(tooLarge.isRetryable).toBe(false);
    // A batch with one oversized envelope is refused whole; nothing was stored.
    const batchError = await transport.publishBatch(topic, [textMessage('k', 'fine'), huge]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(PayloadTooLargeError.isInstance(batchError)).toBe(true);
    expect(await replayAll(transport, topic)).toEqual([]);
    // The limit is configurable: a small one refuses what the default accepts.
    const strict = await ctx.transport({ maxEnvelopeBytes: 2_048 });
    const medium = textMessage('k', 'y'.repeat(4_096));
    const strictError = await strict.publish(topic, medium).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(PayloadTooLargeError.isInstance(strictError)).toBe(true);
    expect((strictError as PayloadTooLargeError).limit).toBe(2_048);
    await transport.publish(topic, medium);
    expect(await replayAll(transport, topic)).toHaveLength(1);
  });

  ctx.test('a foreign record over the limit is dead-lettered undecoded with the reason; the consumer goes on', [], async () => {
    const limit = 4_096;
    const transport = await ctx.transport({ maxEnvelopeBytes: limit });
    const topic = ctx.topic('foreign-large');
    // A valid envelope, only too large: it must be refused for its size, not for its content.
    const oversized = encodeEnvelope(createEnvelope(textMessage('big', 'z'.repeat(3 * limit))));
    await transport.publishRaw(topic, { key: 'big', value: oversized });
    await transport.publish(topic, textMessage('small', 'after'));
    const handled: string[] = [];
    await ctx.subscribe(transport, topic, (d: Delivery) => void handled.push(textOf(d)), { group: 'g' });
    await waitFor('the small message', () => handled.length >= 1, ctx.ms(15_000));
    const deadLetters = await readDeadLetters(ctx, transport, `${topic}.dlq`);
    expect(handled).toEqual(['after']);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.code).toBe(PayloadTooLargeError.code);
    expect(deadLetters[0]!.reason).toMatch(/too large/);
    expect(deadLetters[0]!.reason).toContain(String(oversized.byteLength));
    expect(deadLetters[0]!.raw).toBeUndefined();
  });

  ctx.test(
    'in-flight bytes are bounded beside the count, nothing dropped',
    ['backpressure'],
    async () => {
      const transport = await ctx.transport();
      const topic = ctx.topic('inflight-bytes');
      const messages = Array.from({ length: 24 }, (_, i) => textMessage(`key-${i}`, `${i}:${'b'.repeat(2_000)}`));
      const size = Math.max(...messages.map((m) => encodeEnvelope(createEnvelope(m)).byteLength));
      let running = 0;
      let maxRunning = 0;
      const done = new Set<string>();
      // The count alone would let up to 32 run; the bytes allow three records of this size.
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
        { group: 'g', maxInFlight: 32, maxInFlightBytes: 3 * size },
      );
      const receipts = await transport.publishBatch(topic, messages);
      await waitFor('24 messages', () => done.size >= 24, ctx.ms(30_000));
      expect(maxRunning).toBeLessThanOrEqual(4);
      expect(maxRunning).toBeGreaterThanOrEqual(2);
      expect(receipts.every((r) => done.has(r.id))).toBe(true);
    },
    60_000,
  );
}

interface DeadLetterSummary {
  readonly reason: string;
  readonly code: string | undefined;
  readonly raw: string | undefined;
}

/** Polls the dead-letter topic by replay until it holds at least one dead letter. */
async function readDeadLetters(ctx: SuiteContext, transport: Transport, topic: string): Promise<DeadLetterSummary[]> {
  const deadline = Date.now() + ctx.ms(15_000);
  for (;;) {
    const found: DeadLetterSummary[] = [];
    for await (const record of transport.replay(topic)) {
      if (record.envelope?.kind !== 'dead-letter') continue;
      const { payload } = record.envelope;
      found.push({ reason: payload.reason, code: payload.error.code, raw: payload.raw });
    }
    if (found.length > 0 || Date.now() > deadline) return found;
    await delay(100);
  }
}
