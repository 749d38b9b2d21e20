import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildDeadLetter } from '../src/consumer/dead-letter.js';
import { createEnvelope, type Envelope, type EnvelopeInput, type EnvelopeOf } from '../src/envelope.js';
import { ReplyPathTimeoutError } from '../src/index.js';
import { userText } from '../src/runtime/a2a.js';
import type { AuditEntry } from '../src/runtime/agent-bus.js';
import { markInterrupted, mergeByTime } from '../src/runtime/audit-trail.js';
import {
  type DeadLetterEntry,
  deadLetterPosition,
  handledMarker,
  handledTopic,
  readDeadLetters,
  redriveDeadLetter,
  redrivenEnvelope,
  redriveHeaders,
} from '../src/runtime/redrive.js';
import { ReplyProbe } from '../src/runtime/reply-probe.js';
import { refuseRequest } from '../src/runtime/request-refusal.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import type { Delivery, ReplayRecord, Transport } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A transport that records what is published and replays what a case stored. */
function fakeTransport(stored: Record<string, ReplayRecord[]> = {}) {
  const published: Array<{ topic: string; envelope: EnvelopeInput }> = [];
  let onPublish: ((topic: string, envelope: EnvelopeInput) => void | Promise<void>) | undefined;
  const transport = {
    backend: 'fake',
    capabilities: {} as Transport['capabilities'],
    connect: async () => {},
    publish: async (topic: string, envelope: EnvelopeInput) => {
      published.push({ topic, envelope });
      await onPublish?.(topic, envelope);
      return { id: envelope.id ?? '?', topic, partition: 0, offset: String(published.length - 1) };
    },
    publishBatch: async () => [],
    publishRaw: async () => {},
    subscribe: async () => ({ close: async () => {} }),
    replay: async function* (topic: string) {
      yield* stored[topic] ?? [];
    },
    close: async () => {},
  } as unknown as Transport;
  return {
    transport,
    published,
    setOnPublish: (fn: typeof onPublish) => {
      onPublish = fn;
    },
  };
}

const record = (topic: string, partition: number, offset: string, envelope?: Envelope): ReplayRecord => ({
  topic,
  partition,
  offset,
  timestamp: 0,
  key: envelope?.key ?? 'raw',
  ...(envelope ? { envelope } : {}),
});

// --- audit trail -------------------------------------------------------------------------

function entry(
  at: string,
  options: { type?: AuditEntry['type']; taskId?: string; attempt?: number; state?: string; attemptEnd?: boolean; name?: string } = {},
): AuditEntry {
  const payload = options.state
    ? { task: { id: options.taskId ?? 't', contextId: 'wf', status: { state: options.state } } }
    : { statusUpdate: { taskId: options.taskId ?? 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } };
  const envelope = {
    id: options.name ?? at,
    kind: 'stream-response',
    key: 'wf',
    createdAt: at,
    payload,
    headers: options.attemptEnd ? { [runtimeHeaders.attemptEnd]: 'retry' } : {},
  } as unknown as Envelope;
  return {
    type: options.type ?? 'task-event',
    at,
    taskId: options.taskId,
    capability: 'cap',
    ...(options.attempt !== undefined ? { attempt: options.attempt } : {}),
    envelope,
    signer: undefined,
    verified: false,
  };
}

const t = (second: number): string => new Date(Date.UTC(2030, 0, 1, 0, 0, second)).toISOString();

describe('mergeByTime', () => {
  it('without dead letters: the log as it is, in a new array', () => {
    const log = [entry(t(1)), entry(t(2))];
    const merged = mergeByTime(log, []);
    expect(merged).toEqual(log);
    expect(merged).not.toBe(log);
  });

  it('slots each dead letter after the last log entry not later than it, in time order, keeping the log order', () => {
    const log = [entry(t(1), { name: 'l1' }), entry(t(5), { name: 'l5' }), entry(t(3), { name: 'l3' }), entry(t(7), { name: 'l7' })];
    const dead = [entry(t(9), { name: 'd9' }), entry(t(5), { name: 'd5' }), entry(t(0), { name: 'd0' }), entry(t(2), { name: 'd2' })];
    const merged = mergeByTime(log, dead).map((e) => e.envelope.id);
    expect(merged).toEqual(['d0', 'l1', 'd2', 'l5', 'l3', 'd5', 'l7', 'd9']);
  });
});

describe('markInterrupted', () => {
  it('marks an attempt start followed by another start of the same task before it ended', () => {
    const entries = [
      entry(t(1), { taskId: 'a', attempt: 1, name: 'a1' }),
      entry(t(2), { taskId: 'a', name: 'a-progress' }),
      entry(t(3), { taskId: 'a', attempt: 2, name: 'a2' }),
      entry(t(4), { taskId: 'a', state: 'TASK_STATE_COMPLETED', name: 'a-done' }),
    ];
    const marked = markInterrupted(entries);
    expect(marked.map((e) => e.interrupted ?? false)).toEqual([true, false, false, false]);
    expect(marked[0]).toEqual({ ...entries[0], interrupted: true });
    expect(marked[1]).toBe(entries[1]);
  });

  it('an attempt that ended with a retry event or a final task is not interrupted', () => {
    const entries = [
      entry(t(1), { taskId: 'b', attempt: 1 }),
      entry(t(2), { taskId: 'b', attemptEnd: true }),
      entry(t(3), { taskId: 'b', attempt: 2 }),
      entry(t(4), { taskId: 'b', state: 'TASK_STATE_FAILED' }),
      entry(t(5), { taskId: 'b', attempt: 3 }),
    ];
    expect(markInterrupted(entries).some((e) => e.interrupted)).toBe(false);
  });

  it('a non-final task event does not end an attempt', () => {
    const entries = [
      entry(t(1), { taskId: 'c', attempt: 1 }),
      entry(t(2), { taskId: 'c', state: 'TASK_STATE_WORKING' }),
      entry(t(3), { taskId: 'c', attempt: 2 }),
    ];
    expect(markInterrupted(entries).map((e) => e.interrupted ?? false)).toEqual([true, false, false]);
  });

  it('tasks are tracked apart; only task events with a task id count', () => {
    const entries = [
      entry(t(1), { taskId: 'd', attempt: 1 }),
      entry(t(2), { taskId: 'e', attempt: 1 }),
      entry(t(3), { type: 'task-request', taskId: 'd', attempt: 1 }),
      entry(t(4), { type: 'dead-letter', taskId: 'd', attempt: 1 }),
      entry(t(5), { attempt: 1 }),
      entry(t(6), { attempt: 2 }),
      entry(t(7), { taskId: 'd', state: 'TASK_STATE_COMPLETED' }),
      entry(t(8), { taskId: 'e', state: 'TASK_STATE_COMPLETED' }),
    ];
    expect(markInterrupted(entries).some((e) => e.interrupted)).toBe(false);
  });
});

// --- redrive -----------------------------------------------------------------------------

const AT = new Date('2030-01-01T00:00:00.000Z');

function deadLetterOf(original: Envelope | undefined, sourceTopic = 'ns.tasks.cap'): EnvelopeOf<'dead-letter'> {
  return createEnvelope(
    buildDeadLetter({
      sourceTopic,
      group: 'agents.cap',
      reason: 'boom',
      error: new Error('boom'),
      attempts: 3,
      original,
      key: 'wf',
      partition: 1,
      offset: '7',
    }),
  ) as EnvelopeOf<'dead-letter'>;
}

const taskRequest = (): Envelope =>
  createEnvelope({
    kind: 'message',
    key: 'wf',
    payload: userText('do it'),
    attempt: 3,
    deadline: '2030-01-01T00:00:00.000Z',
    replyTo: 'ns.replies',
    headers: { [runtimeHeaders.type]: 'task-request', app: 'v' },
  } as EnvelopeInput);

describe('redrive building blocks', () => {
  it('names the handled topic and positions', () => {
    expect(handledTopic('ns.tasks.cap.dlq')).toBe('ns.tasks.cap.dlq.handled');
    expect(deadLetterPosition('ns.tasks.cap.dlq', 2, '15')).toBe('ns.tasks.cap.dlq/2/15');
    expect(redriveHeaders).toEqual({ by: 'a2a-bus.redriven-by', at: 'a2a-bus.redriven-at', from: 'a2a-bus.redriven-from' });
  });

  it('the redriven envelope: same id, key, payload and headers plus who, when and where; attempt, deadline and createdAt dropped', () => {
    const original = taskRequest();
    const redriven = redrivenEnvelope(deadLetterOf(original), 'dlq/1/7', 'ops', AT) as Record<string, unknown>;
    expect(redriven.id).toBe(original.id);
    expect(redriven.key).toBe('wf');
    expect(redriven.payload).toEqual(original.payload);
    expect(redriven.replyTo).toBe('ns.replies');
    expect('attempt' in redriven).toBe(false);
    expect('deadline' in redriven).toBe(false);
    expect('createdAt' in redriven).toBe(false);
    expect(redriven.headers).toEqual({
      [runtimeHeaders.type]: 'task-request',
      app: 'v',
      [redriveHeaders.by]: 'ops',
      [redriveHeaders.at]: AT.toISOString(),
      [redriveHeaders.from]: 'dlq/1/7',
    });
    expect(redrivenEnvelope(deadLetterOf(undefined), 'dlq/1/7', 'ops', AT)).toBeUndefined();
  });

  it('the handled marker names the dead letter, its position, who and when', () => {
    const marker = handledMarker('dl-1', 'dlq/1/7', 'ops', AT);
    expect(marker.kind).toBe('message');
    expect(marker.key).toBe('dl-1');
    expect(marker.headers).toEqual({
      [runtimeHeaders.type]: 'dead-letter-handled',
      [redriveHeaders.by]: 'ops',
      [redriveHeaders.at]: AT.toISOString(),
      [redriveHeaders.from]: 'dlq/1/7',
    });
    expect(JSON.stringify(marker.payload)).toContain('dead letter dl-1 at dlq/1/7 redriven by ops');
    expect(() => createEnvelope(marker)).not.toThrow();
  });
});

describe('readDeadLetters', () => {
  it('lists the dead letters with their positions, handled when a marker names exactly that position', async () => {
    const dlq = 'ns.tasks.cap.dlq';
    const first = deadLetterOf(taskRequest());
    const second = deadLetterOf(taskRequest());
    const third = deadLetterOf(undefined);
    const { transport } = fakeTransport({
      [handledTopic(dlq)]: [
        record(handledTopic(dlq), 0, '0', createEnvelope(handledMarker(first.id, `${dlq}/0/1`, 'ops', AT))),
        record(handledTopic(dlq), 0, '1', createEnvelope({ kind: 'message', key: 'x', payload: userText('no position') })),
        record(handledTopic(dlq), 0, '2'),
      ],
      [dlq]: [
        record(dlq, 0, '1', first),
        record(dlq, 1, '1', second),
        record(dlq, 0, '2'),
        record(dlq, 0, '3', createEnvelope({ kind: 'message', key: 'x', payload: userText('not a dead letter') })),
        record(dlq, 2, '9', third),
      ],
    });
    const entries = await readDeadLetters(transport, dlq);
    expect(entries.map((e) => [e.envelope.id, e.partition, e.offset, e.position, e.handled, e.deadLetterTopic])).toEqual([
      [first.id, 0, '1', `${dlq}/0/1`, true, dlq],
      [second.id, 1, '1', `${dlq}/1/1`, false, dlq],
      [third.id, 2, '9', `${dlq}/2/9`, false, dlq],
    ]);
  });
});

describe('redriveDeadLetter', () => {
  const entryFor = (envelope: EnvelopeOf<'dead-letter'>, handled = false): DeadLetterEntry => ({
    deadLetterTopic: 'ns.tasks.cap.dlq',
    partition: 1,
    offset: '7',
    position: 'ns.tasks.cap.dlq/1/7',
    envelope,
    handled,
  });

  it('skips what was handled or has no original, and publishes nothing on a dry run', async () => {
    const { transport, published } = fakeTransport();
    expect(await redriveDeadLetter(transport, 'ns', entryFor(deadLetterOf(taskRequest()), true), { by: 'ops' })).toBe('skipped: already handled');
    expect(await redriveDeadLetter(transport, 'ns', entryFor(deadLetterOf(undefined)), { by: 'ops' })).toBe('skipped: no decodable original');
    expect(await redriveDeadLetter(transport, 'ns', entryFor(deadLetterOf(taskRequest())), { by: 'ops', dryRun: true })).toBe('would redrive');
    expect(published).toEqual([]);
  });

  it('a task request: recorded in the workflow log under a new id, republished to its topic, then marked handled', async () => {
    const { transport, published } = fakeTransport();
    const original = taskRequest();
    const deadLetter = deadLetterOf(original);
    expect(await redriveDeadLetter(transport, 'ns', entryFor(deadLetter), { by: 'ops', dryRun: false })).toBe('redriven');
    expect(published.map((p) => p.topic)).toEqual(['ns.workflows', 'ns.tasks.cap', 'ns.tasks.cap.dlq.handled']);
    const [audit, republished, marker] = published.map((p) => p.envelope);
    expect(audit!.id).toBeDefined();
    expect(audit!.id).not.toBe(original.id);
    expect(audit!.headers?.[redriveHeaders.from]).toBe('ns.tasks.cap.dlq/1/7');
    expect(republished!.id).toBe(original.id);
    expect(republished!.headers?.[redriveHeaders.by]).toBe('ops');
    expect(marker!.key).toBe(deadLetter.id);
    expect(marker!.headers?.[redriveHeaders.from]).toBe('ns.tasks.cap.dlq/1/7');
    expect(marker!.headers?.[redriveHeaders.at]).toBe(republished!.headers?.[redriveHeaders.at]);
  });

  it('another message goes back to its own source topic without a workflow record', async () => {
    const { transport, published } = fakeTransport();
    const original = createEnvelope({ kind: 'message', key: 'k', payload: userText('plain') });
    expect(await redriveDeadLetter(transport, 'ns', entryFor(deadLetterOf(original, 'orders')), { by: 'ops' })).toBe('redriven');
    expect(published.map((p) => p.topic)).toEqual(['orders', 'ns.tasks.cap.dlq.handled']);
  });
});

// --- reply probe -------------------------------------------------------------------------

describe('ReplyProbe', () => {
  it('tells probes from other envelopes; only its own probe counts as arrived', async () => {
    const { transport, published, setOnPublish } = fakeTransport();
    const probe = new ReplyProbe(transport, 'ns.replies', 'bus-1');
    const other = createEnvelope({ kind: 'message', key: 'x', payload: userText('task event'), correlationId: 'c' });
    expect(probe.observe(other)).toBe(false);
    const foreign = createEnvelope({
      kind: 'message',
      key: 'bus-2',
      correlationId: 'probe-other',
      payload: userText('reply probe'),
      headers: { [runtimeHeaders.type]: 'reply-probe' },
    });
    expect(probe.observe(foreign)).toBe(true);
    // The foreign probe did not complete this one: it publishes; its own echo completes it
    // (here while the publish is under way: no wait follows).
    vi.useFakeTimers();
    setOnPublish((_topic, envelope) => {
      probe.observe(createEnvelope(envelope));
    });
    let done = false;
    const waiting = probe.await(1_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    await waiting;
    expect(vi.getTimerCount()).toBe(0);
    expect(published).toHaveLength(1);
    const sent = published[0]!;
    expect(sent.topic).toBe('ns.replies');
    expect(sent.envelope.kind).toBe('message');
    expect(sent.envelope.key).toBe('bus-1');
    expect(sent.envelope.correlationId).toMatch(/^probe-[0-9a-f-]{36}$/);
    expect(sent.envelope.headers).toEqual({ [runtimeHeaders.type]: 'reply-probe', [runtimeHeaders.instance]: 'bus-1' });
    // Once arrived, waiting again publishes nothing.
    await probe.await(1_000);
    expect(published).toHaveLength(1);
  });

  it('publishes again every 250 ms until the probe comes back', async () => {
    vi.useFakeTimers();
    const { transport, published } = fakeTransport();
    const probe = new ReplyProbe(transport, 'ns.replies', 'bus-1');
    let done = false;
    const waiting = probe.await(10_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(249);
    expect(published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(published).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(published).toHaveLength(4);
    expect(new Set(published.map((p) => p.envelope.correlationId)).size).toBe(1);
    // It comes back between two publishes: the wait ends at once, without another publish.
    probe.observe(createEnvelope(published[0]!.envelope));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    await waiting;
    expect(published).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails with ReplyPathTimeoutError once the timeout has passed', async () => {
    vi.useFakeTimers();
    const { transport, published } = fakeTransport();
    const probe = new ReplyProbe(transport, 'ns.replies', 'bus-1');
    const outcome = probe.await(1_000).catch((error: unknown) => error);
    // Publishes at 0, 250, 500, 750 and 1000 (not yet past the deadline), then gives up.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(250);
    const error = (await outcome) as ReplyPathTimeoutError;
    expect(ReplyPathTimeoutError.isInstance(error)).toBe(true);
    expect(error.topic).toBe('ns.replies');
    expect(error.message).toContain('1000 ms');
    expect(published).toHaveLength(5);
  });
});

// --- request refusal ---------------------------------------------------------------------

describe('refuseRequest', () => {
  const delivery = (envelope: Envelope, terms: Array<string | undefined>): Delivery => ({
    envelope,
    topic: 'ns.tasks.cap',
    partition: 3,
    offset: '42',
    attempt: 2,
    signal: new AbortController().signal,
    ack: () => true,
    nack: () => true,
    term: (reason) => {
      terms.push(reason);
      return true;
    },
  });

  it('logs why, dead-letters the request with where it was, then terms the delivery', async () => {
    const { transport, published } = fakeTransport();
    const logger = recordingLogger();
    const terms: Array<string | undefined> = [];
    const original = taskRequest();
    const error = new Error('foreign reply topic');
    await refuseRequest({ transport, topic: 'ns.tasks.cap', group: 'agents.cap', logger }, delivery(original, terms), 'reply topic refused: x', error);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        fields: { err: error, id: original.id, topic: 'ns.tasks.cap', reason: 'reply topic refused: x' },
        message: 'task request refused; dead-lettered',
      },
    ]);
    expect(published).toHaveLength(1);
    expect(published[0]!.topic).toBe('ns.tasks.cap.dlq');
    const deadLetter = published[0]!.envelope as EnvelopeInput & { kind: 'dead-letter' };
    expect(deadLetter.kind).toBe('dead-letter');
    expect(deadLetter.id).toBe(original.id);
    expect(deadLetter.key).toBe('wf');
    expect(deadLetter.payload).toMatchObject({
      reason: 'reply topic refused: x',
      attempts: 2,
      sourceTopic: 'ns.tasks.cap',
      group: 'agents.cap',
      error: { message: 'foreign reply topic' },
      original,
    });
    expect(terms).toEqual(['reply topic refused: x']);
  });

  it('when the dead letter cannot be written, the error propagates and the delivery is not termed', async () => {
    const { transport, setOnPublish } = fakeTransport();
    setOnPublish(() => {
      throw new Error('broker down');
    });
    const terms: Array<string | undefined> = [];
    await expect(
      refuseRequest({ transport, topic: 'ns.tasks.cap', group: 'agents.cap', logger: recordingLogger() }, delivery(taskRequest(), terms), 'why', null),
    ).rejects.toThrow('broker down');
    expect(terms).toEqual([]);
  });
});
