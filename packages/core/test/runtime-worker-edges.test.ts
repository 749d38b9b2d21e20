import { describe, expect, it, vi } from 'vitest';
import type { A2AStreamResponse, A2ATask } from '../src/a2a/schema.js';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../src/envelope.js';
import { textOfParts } from '../src/runtime/a2a.js';
import { MemoryIdempotencyStore } from '../src/runtime/idempotency.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import { CapabilityWorker, type TaskHandler } from '../src/runtime/worker.js';
import type { Delivery } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';

function delivery(envelope: Envelope, terms: Array<string | undefined>): Delivery {
  return {
    envelope,
    topic: 'ns.tasks.cap',
    partition: 0,
    offset: '0',
    attempt: 1,
    signal: new AbortController().signal,
    ack: () => true,
    nack: () => true,
    term: (reason) => {
      terms.push(reason);
      return true;
    },
  };
}

function worker(handler: TaskHandler) {
  const events: A2AStreamResponse[] = [];
  const w = new CapabilityWorker({
    capability: 'cap',
    handler,
    retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
    store: new MemoryIdempotencyStore(),
    logger: recordingLogger(),
    namespace: 'ns',
    emit: async (_request, event) => {
      events.push(event);
    },
    allowsReplyTo: () => true,
    refuse: async () => {},
    dispatchChild: async () => ({}) as A2ATask,
  });
  const final = (): A2ATask => {
    const last = events.at(-1);
    if (!last || !('task' in last)) throw new Error('no final task');
    return last.task;
  };
  return { w, events, final };
}

const request = (): Envelope =>
  createEnvelope({
    kind: 'message',
    key: 'wf',
    payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x' }] },
    headers: { [runtimeHeaders.taskId]: 'task-1' },
  } as EnvelopeInput);

describe('CapabilityWorker edges', () => {
  it('an envelope that is no message is not a task request, even when it names a task', async () => {
    const handler = vi.fn();
    const { w, events } = worker(handler);
    const terms: Array<string | undefined> = [];
    const event = createEnvelope({
      kind: 'stream-response',
      key: 'wf',
      correlationId: 'task-1',
      payload: { statusUpdate: { taskId: 'task-1', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } },
      headers: { [runtimeHeaders.taskId]: 'task-1' },
    } as EnvelopeInput);
    await w.onDelivery(delivery(event, terms));
    expect(terms).toEqual(['not a task request']);
    expect(handler).not.toHaveBeenCalled();
    expect(events).toEqual([]);
  });

  it('a task canceled before it started ends with no artifacts', async () => {
    const { w, final } = worker(() => 'ran');
    w.cancel('task-1');
    await w.onDelivery(delivery(request(), []));
    expect(final().status.state).toBe('TASK_STATE_CANCELED');
    expect(final().artifacts).toEqual([]);
  });

  it('a handler that throws once canceled ends with the message "canceled"', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const { w, final } = worker(async (ctx) => {
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      throw new Error('stopped');
    });
    const done = w.onDelivery(delivery(request(), []));
    await running;
    w.cancel('task-1');
    await done;
    expect(final().status.state).toBe('TASK_STATE_CANCELED');
    expect(textOfParts(final().status.message?.parts ?? [])).toBe('canceled');
  });
});
