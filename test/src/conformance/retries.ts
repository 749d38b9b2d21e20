import type { DeadLetterEvent, DeadLetterNotice, Delivery, EnvelopeOf } from '@a2a-bus/core';
import { expect } from 'vitest';
import { delay, textMessage, textOf, waitFor, type SuiteContext } from './context.js';

/** Settlement: nack, delayed nack, term, attempts, dead letters. */
export function retryCases(ctx: SuiteContext): void {
  ctx.test('nack → redelivered, with the attempt number counting up', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('nack');
    const attempts: number[] = [];
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        attempts.push(d.attempt);
        if (d.attempt < 3) d.nack({ delayMs: 0 });
      },
      { group: 'g' },
    );
    await transport.publish(topic, textMessage('k', 'retry me'));
    await waitFor('three attempts', () => attempts.length >= 3, ctx.ms(10_000));
    await delay(ctx.redeliveryBound()); // a lost ack would bring attempt 3 back by now
    expect(attempts).toEqual([1, 2, 3]);
  });

  ctx.test('a throwing handler counts as a nack', [], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('throw');
    const attempts: number[] = [];
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) throw new Error('transient');
      },
      { group: 'g', retry: { initialDelayMs: 10 } },
    );
    await transport.publish(topic, textMessage('k', 'throws once'));
    await waitFor('a second attempt', () => attempts.length >= 2, ctx.ms(10_000));
    await delay(ctx.redeliveryBound());
    expect(attempts).toEqual([1, 2]);
  });

  ctx.test('nack(delay) is not redelivered early', ['delayedNack'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('nack-delay');
    const at: number[] = [];
    const delayMs = 400;
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        at.push(performance.now());
        if (d.attempt === 1) d.nack({ delayMs });
      },
      { group: 'g' },
    );
    await transport.publish(topic, textMessage('k', 'later'));
    await waitFor('the redelivery', () => at.length >= 2, ctx.ms(10_000));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(delayMs - 5); // timer granularity
  });

  ctx.test('term → never delivered again', ['term'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('term');
    const seen: string[] = [];
    const subscription = await ctx.subscribe(
      transport,
      topic,
      (d) => {
        seen.push(textOf(d));
        if (textOf(d) === 'poison') d.term('not for us');
      },
      { group: 'g', retry: { initialDelayMs: 10 } },
    );
    await transport.publish(topic, textMessage('k', 'poison'));
    await transport.publish(topic, textMessage('k', 'after'));
    await waitFor('the message after', () => seen.includes('after'), ctx.ms(10_000));
    await delay(ctx.redeliveryBound());
    expect(seen).toEqual(['poison', 'after']);
    // Some backends redeliver an unsettled message only to the next member (Kafka from the last
    // commit, memory's pending entries): close, let another member in, and it must get neither.
    await subscription.close();
    const next: string[] = [];
    await ctx.subscribe(await ctx.transport(), topic, (d) => void next.push(textOf(d)), { group: 'g' });
    await transport.publish(topic, textMessage('k', 'marker'));
    await waitFor('the marker on the next member', () => next.includes('marker'), ctx.ms(30_000));
    await delay(ctx.redeliveryBound());
    expect(next).toEqual(['marker']);
  });

  ctx.test('after maxAttempts → dead-letter topic with id, headers, error and attempts', ['deadLetter'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('dlq');
    const attempts: number[] = [];
    const dead: EnvelopeOf<'dead-letter'>[] = [];
    const notices: DeadLetterNotice[] = [];
    await ctx.subscribe(
      transport,
      `${topic}.dlq`,
      (d) => {
        if (d.envelope.kind === 'dead-letter') dead.push(d.envelope);
      },
      { group: 'dlq-reader' },
    );
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        attempts.push(d.attempt);
        throw new Error('boom');
      },
      { group: 'g', retry: { maxAttempts: 3, initialDelayMs: 10 }, onDeadLetter: (notice) => void notices.push(notice) },
    );
    const sent = textMessage('wf-dlq', 'always fails', { id: 'dlq-1', correlationId: 'c-1', headers: { tenant: 'acme' } });
    await transport.publish(topic, sent);
    await waitFor('the dead letter', () => dead.length >= 1, ctx.ms(15_000));
    await delay(ctx.redeliveryBound()); // and nothing after it
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead).toHaveLength(1);
    const letter = dead[0]!;
    expect(letter.id).toBe('dlq-1');
    expect(letter.key).toBe('wf-dlq');
    expect(letter.headers).toEqual({ tenant: 'acme' });
    expect(letter.payload).toMatchObject({ attempts: 3, sourceTopic: topic, group: 'g', error: { message: 'boom' } });
    expect(letter.payload.original).toMatchObject({ id: 'dlq-1', correlationId: 'c-1', headers: { tenant: 'acme' } });
    // The subscriber is told too (the agent runtime answers callers through it), once.
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ cause: 'exhausted', reason: 'failed after 3 attempts', attempts: 3, deadLetterTopic: `${topic}.dlq` });
    expect(notices[0]!.envelope).toMatchObject({ id: 'dlq-1', key: 'wf-dlq' });
    expect((notices[0]!.error as Error).message).toBe('boom');
  });

  /**
   * A dead letter the backend refuses: first without the original (its minimal form), and
   * when even that is refused, logged and let go. Either way the key moves on at once; a
   * poison message never blocks its key (on Kafka its partition) beyond the retry policy.
   * The limit here is the transport's own envelope size limit, so every backend refuses alike.
   */
  const unwritableDeadLetter = async (
    errorBytes: number,
  ): Promise<{ handled: string[]; events: DeadLetterEvent[]; dead: EnvelopeOf<'dead-letter'>[]; notices: DeadLetterNotice[] }> => {
    const events: DeadLetterEvent[] = [];
    const notices: DeadLetterNotice[] = [];
    const transport = await ctx.transport({ maxEnvelopeBytes: 2_048, instrumentation: { onDeadLetter: (event) => void events.push(event) } });
    const topic = ctx.topic('dlq-refused');
    const handled: string[] = [];
    await ctx.subscribe(
      transport,
      topic,
      (d) => {
        handled.push(textOf(d).slice(0, 6));
        if (textOf(d).startsWith('poison')) throw new Error('e'.repeat(errorBytes));
      },
      { group: 'g', retry: { maxAttempts: 1 }, onDeadLetter: (notice) => void notices.push(notice) },
    );
    // Fits by itself (about 1.6 KB); its dead letter, with the original inside, does not.
    await transport.publish(topic, textMessage('k', `poison${'p'.repeat(1_300)}`));
    await transport.publish(topic, textMessage('k', 'after'));
    await waitFor('the next message of the same key', () => handled.includes('after'), ctx.ms(15_000));
    await delay(ctx.redeliveryBound()); // the poison is not redelivered meanwhile
    const dead: EnvelopeOf<'dead-letter'>[] = [];
    for await (const record of transport.replay(`${topic}.dlq`)) if (record.envelope?.kind === 'dead-letter') dead.push(record.envelope);
    return { handled, events, dead, notices };
  };

  ctx.test('a dead letter too large for the topic is written in its minimal form; the key moves on', ['deadLetter'], async () => {
    const { handled, events, dead } = await unwritableDeadLetter(100);
    expect(handled).toEqual(['poison', 'after']);
    expect(events).toHaveLength(1);
    expect(events[0]!.written).toBeUndefined();
    expect(dead).toHaveLength(1);
    expect(dead[0]!.payload.original).toBeUndefined();
    expect(dead[0]!.payload.reason).toContain('original left out');
    expect(dead[0]!.payload.error.message).toBe('e'.repeat(100));
  });

  ctx.test('a dead letter that cannot be written at all is reported (written: false) and let go; the key moves on', ['deadLetter'], async () => {
    // An error message larger than the limit: even the minimal form is refused.
    const { handled, events, dead, notices } = await unwritableDeadLetter(4_096);
    expect(handled).toEqual(['poison', 'after']);
    expect(events).toHaveLength(1);
    expect(events[0]!.written).toBe(false);
    expect(dead).toEqual([]);
    expect(notices.map((n) => [n.cause, n.deadLetterTopic])).toEqual([['exhausted', false]]);
  });

  ctx.test('undecodable bytes are dead-lettered with the reason and the consumer goes on', ['deadLetter'], async () => {
    const transport = await ctx.transport();
    const topic = ctx.topic('garbage');
    const seen: Delivery[] = [];
    const dead: EnvelopeOf<'dead-letter'>[] = [];
    await ctx.subscribe(
      transport,
      `${topic}.dlq`,
      (d) => {
        if (d.envelope.kind === 'dead-letter') dead.push(d.envelope);
      },
      { group: 'dlq-reader' },
    );
    const notices: DeadLetterNotice[] = [];
    await ctx.subscribe(transport, topic, (d) => void seen.push(d), { group: 'g', onDeadLetter: (notice) => void notices.push(notice) });
    const garbage = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x01, 0x6e, 0x6f, 0x70, 0x65]);
    await transport.publishRaw(topic, { key: 'k', value: garbage });
    await transport.publishRaw(topic, { key: 'k', value: Buffer.from(JSON.stringify({ v: 1, id: 'x', kind: 'message', payload: {} })) });
    await transport.publish(topic, textMessage('k', 'valid after garbage'));
    await waitFor('the valid message', () => seen.length >= 1, ctx.ms(10_000));
    await waitFor('two dead letters', () => dead.length >= 2, ctx.ms(10_000));
    expect(seen.map(textOf)).toEqual(['valid after garbage']);
    expect(dead[0]!.payload.reason).toMatch(/undecodable: .*not JSON/);
    expect(Buffer.from(dead[0]!.payload.raw!, 'base64').equals(garbage)).toBe(true);
    expect(dead[1]!.payload.reason).toMatch(/undecodable: .*key/);
    expect(notices.map((n) => [n.cause, n.envelope, n.deadLetterTopic])).toEqual([
      ['undecodable', undefined, `${topic}.dlq`],
      ['undecodable', undefined, `${topic}.dlq`],
    ]);
  });
}
