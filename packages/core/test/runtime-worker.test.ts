import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { A2AMessage, A2AStreamResponse, A2ATask } from '../src/a2a/schema.js';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../src/envelope.js';
import { NonRetryableError, ReplyTopicRefusedError, TaskRejectedError } from '../src/index.js';
import { textOfParts } from '../src/runtime/a2a.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from '../src/runtime/idempotency.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import { CapabilityWorker, type EventMarks, type TaskContext, type TaskHandler, type TaskRequest, textArtifact } from '../src/runtime/worker.js';
import type { DeadLetterNotice, Delivery } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';

interface Emitted {
  readonly request: TaskRequest;
  readonly event: A2AStreamResponse;
  readonly marks: EventMarks | undefined;
}

interface FakeDelivery extends Delivery {
  readonly terms: Array<string | undefined>;
  readonly controller: AbortController;
}

function request(overrides: Partial<EnvelopeInput> = {}, headers: Record<string, string> | null = { [runtimeHeaders.taskId]: 'task-1' }): Envelope {
  return createEnvelope({
    kind: 'message',
    key: 'wf-1',
    payload: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hello' }], taskId: 'task-1', contextId: 'wf-1' },
    replyTo: 'ns.replies',
    ...(headers ? { headers } : {}),
    ...overrides,
  } as EnvelopeInput);
}

function delivery(envelope: Envelope, attempt = 1): FakeDelivery {
  const controller = new AbortController();
  const terms: Array<string | undefined> = [];
  return {
    envelope,
    topic: 'ns.tasks.cap',
    partition: 0,
    offset: '0',
    attempt,
    signal: controller.signal,
    controller,
    terms,
    ack: () => true,
    nack: () => true,
    term: (reason?: string) => {
      terms.push(reason);
      return true;
    },
  };
}

function harness(
  handler: TaskHandler,
  options: {
    maxAttempts?: number;
    store?: IdempotencyStore;
    recordsProgress?: (request: TaskRequest) => boolean;
    /** Whether sending this event fails (the broker refused the publish). */
    failEmit?: (event: A2AStreamResponse) => boolean;
  } = {},
) {
  const emitted: Emitted[] = [];
  const refused: Array<{ delivery: Delivery; reason: string; error: unknown }> = [];
  const children: Array<{ parent: TaskRequest; capability: string; message: A2AMessage | string; timeoutMs: number | undefined }> = [];
  const replyChecks: string[] = [];
  const logger = recordingLogger();
  const store = options.store ?? new MemoryIdempotencyStore();
  const worker = new CapabilityWorker({
    capability: 'cap',
    handler,
    retry: { maxAttempts: options.maxAttempts ?? 3, initialDelayMs: 1, maxDelayMs: 1 },
    store,
    logger,
    namespace: 'ns',
    emit: async (req, event, marks) => {
      if (options.failEmit?.(event)) throw new Error('publish failed: connection lost');
      emitted.push({ request: req, event, marks });
    },
    ...(options.recordsProgress ? { recordsProgress: options.recordsProgress } : {}),
    allowsReplyTo: (replyTo) => {
      replyChecks.push(replyTo);
      return replyTo === 'ns.replies';
    },
    refuse: async (d, reason, error) => {
      refused.push({ delivery: d, reason, error });
    },
    dispatchChild: async (parent, capability, message, timeoutMs) => {
      children.push({ parent, capability, message, timeoutMs });
      return { id: 'child', contextId: parent.workflowId, status: { state: 'TASK_STATE_COMPLETED' } } as A2ATask;
    },
  });
  return { worker, emitted, refused, children, replyChecks, logger, store };
}

const finalOf = (emitted: Emitted[]): A2ATask => {
  const last = emitted.at(-1)?.event;
  if (!last || !('task' in last)) throw new Error('no final task emitted');
  return last.task;
};
const messageText = (task: A2ATask): string => textOfParts(task.status.message?.parts ?? []);

afterEach(() => {
  vi.useRealTimers();
});

describe('CapabilityWorker: what is a task request', () => {
  it('terms a delivery that is no message, or names no task, without running anything', async () => {
    const handler = vi.fn();
    const h = harness(handler);
    const card = createEnvelope({ kind: 'agent-card', key: 'k', payload: { name: 'a', description: 'a', version: '1', skills: [] } } as EnvelopeInput);
    const notMessage = delivery(card);
    await h.worker.onDelivery(notMessage);
    const noTask = delivery(
      createEnvelope({ kind: 'message', key: 'wf', payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x' }] } } as EnvelopeInput),
    );
    await h.worker.onDelivery(noTask);
    expect(notMessage.terms).toEqual(['not a task request']);
    expect(noTask.terms).toEqual(['not a task request']);
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toEqual([]);
  });

  it('takes the task id from the header first, from the message otherwise; the workflow id is the key', async () => {
    const seen: TaskContext[] = [];
    const h = harness((ctx) => {
      seen.push(ctx);
    });
    await h.worker.onDelivery(delivery(request({}, { [runtimeHeaders.taskId]: 'from-header', app: 'v' })));
    await h.worker.onDelivery(delivery(request({}, null)));
    expect(seen.map((ctx) => ctx.taskId)).toEqual(['from-header', 'task-1']);
    expect(seen[0]!.workflowId).toBe('wf-1');
    expect(seen[0]!.capability).toBe('cap');
    expect(seen[0]!.headers).toEqual({ [runtimeHeaders.taskId]: 'from-header', app: 'v' });
    expect(seen[1]!.headers).toEqual({});
    expect(textOfParts(seen[0]!.message.parts)).toBe('hello');
    const finals = h.emitted.filter((e) => 'task' in e.event).map((e) => (e.event as { task: A2ATask }).task.id);
    expect(finals).toEqual(['from-header', 'task-1']);
  });
});

describe('CapabilityWorker: refusals and answers without running', () => {
  it('refuses a foreign reply topic with the reason and a ReplyTopicRefusedError; runs nothing', async () => {
    const handler = vi.fn();
    const h = harness(handler);
    const d = delivery(request({ replyTo: 'other.replies' }));
    await h.worker.onDelivery(d);
    expect(h.refused).toHaveLength(1);
    expect(h.refused[0]!.delivery).toBe(d);
    expect(h.refused[0]!.reason).toBe('reply topic refused: other.replies');
    const error = h.refused[0]!.error as ReplyTopicRefusedError;
    expect(ReplyTopicRefusedError.isInstance(error)).toBe(true);
    expect(error.replyTo).toBe('other.replies');
    expect(error.namespace).toBe('ns');
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toEqual([]);
  });

  it('runs a request without a reply topic, never asking whether "undefined" is allowed', async () => {
    const handler = vi.fn(() => 'ok');
    const h = harness(handler);
    await h.worker.onDelivery(delivery(request({ replyTo: undefined })));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(h.replyChecks).toEqual([]);
    expect(h.refused).toEqual([]);
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('answers a finished task from the store, marked, without running the handler', async () => {
    const store = new MemoryIdempotencyStore();
    const done = { id: 'task-1', contextId: 'wf-1', status: { state: 'TASK_STATE_COMPLETED' } } as A2ATask;
    await store.set('task-1', done);
    const handler = vi.fn();
    const h = harness(handler, { store });
    await h.worker.onDelivery(delivery(request()));
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0]!.event).toEqual({ task: done });
    expect(h.emitted[0]!.marks).toEqual({ servedFromStore: true });
  });

  it('a task canceled before it arrived ends canceled without running, once', async () => {
    const handler = vi.fn(() => 'ran');
    const h = harness(handler);
    h.worker.cancel('task-1');
    await h.worker.onDelivery(delivery(request()));
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toHaveLength(1);
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_CANCELED');
    expect(messageText(task)).toBe('canceled before it started');
    // The early cancel is used up: a later delivery of the same id runs.
    await h.worker.onDelivery(delivery(request()));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('remembers at most 10 000 early cancels, forgetting the oldest first', async () => {
    const handler = vi.fn(() => 'ran');
    const h = harness(handler);
    for (let i = 0; i <= 10_000; i += 1) h.worker.cancel(`t${i}`);
    await h.worker.onDelivery(delivery(request({}, { [runtimeHeaders.taskId]: 't0' })));
    expect(handler).toHaveBeenCalledTimes(1);
    await h.worker.onDelivery(delivery(request({}, { [runtimeHeaders.taskId]: 't1' })));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_CANCELED');
    await h.worker.onDelivery(delivery(request({}, { [runtimeHeaders.taskId]: 't10000' })));
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('a request past its deadline fails without running; one due exactly now or later runs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:10.000Z'));
    const handler = vi.fn(() => 'ran');
    const h = harness(handler);
    await h.worker.onDelivery(delivery(request({ deadline: '2030-01-01T00:00:09.999Z' })));
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toHaveLength(1);
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(messageText(task)).toBe('deadline passed before the task started');
    await h.worker.onDelivery(delivery(request({ deadline: '2030-01-01T00:00:10.000Z' }, { [runtimeHeaders.taskId]: 'due-now' })));
    await h.worker.onDelivery(delivery(request({ deadline: '2030-01-01T00:01:00.000Z' }, { [runtimeHeaders.taskId]: 'due-later' })));
    expect(handler).toHaveBeenCalledTimes(2);
  });
});

describe('CapabilityWorker: one attempt', () => {
  it('starts with a working event marked with the attempt, then the completed task with the request as history', async () => {
    const h = harness(() => undefined);
    await h.worker.onDelivery(delivery(request(), 2));
    expect(h.emitted).toHaveLength(2);
    const first = h.emitted[0]!;
    expect(first.marks).toEqual({ attempt: 2 });
    expect('statusUpdate' in first.event && first.event.statusUpdate.status.state).toBe('TASK_STATE_WORKING');
    expect('statusUpdate' in first.event && first.event.statusUpdate.taskId).toBe('task-1');
    expect('statusUpdate' in first.event && first.event.statusUpdate.contextId).toBe('wf-1');
    expect(first.request.taskId).toBe('task-1');
    expect(first.request.replyTo).toBe('ns.replies');
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts).toEqual([]);
    expect(task.history?.map((m) => m.messageId)).toEqual(['m1']);
    expect(h.emitted[1]!.marks).toBeUndefined();
  });

  it('does not start the handler when the delivery was given up while the working event went out', async () => {
    const handler = vi.fn();
    const h = harness(handler);
    const d = delivery(request());
    const emit = h.emitted.push.bind(h.emitted);
    h.emitted.push = (...items: Emitted[]) => {
      d.controller.abort();
      return emit(...items);
    };
    await h.worker.onDelivery(d);
    expect(handler).not.toHaveBeenCalled();
    expect(h.emitted).toHaveLength(1);
    expect(h.worker.inFlight).toBe(0);
  });

  it('counts the task in flight while the handler runs, and no more after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const h = harness(async () => {
      started();
      await gate;
      return 'done';
    });
    expect(h.worker.inFlight).toBe(0);
    const done = h.worker.onDelivery(delivery(request()));
    await running;
    expect(h.worker.inFlight).toBe(1);
    release();
    await done;
    expect(h.worker.inFlight).toBe(0);
  });

  it('a string result becomes a named text artifact after the emitted ones', async () => {
    const h = harness(async (ctx) => {
      await ctx.artifact('first');
      await ctx.artifact({ artifactId: 'own', parts: [{ text: 'second' }] }, { append: true, lastChunk: false });
      return 'answer';
    });
    await h.worker.onDelivery(delivery(request()));
    const updates = h.emitted.flatMap((e) => ('artifactUpdate' in e.event ? [e.event.artifactUpdate] : []));
    expect(updates).toEqual([
      { taskId: 'task-1', contextId: 'wf-1', artifact: { artifactId: 'task-1-1', parts: [{ text: 'first' }] }, append: false, lastChunk: true },
      { taskId: 'task-1', contextId: 'wf-1', artifact: { artifactId: 'own', parts: [{ text: 'second' }] }, append: true, lastChunk: false },
    ]);
    const task = finalOf(h.emitted);
    expect(task.artifacts).toEqual([
      { artifactId: 'task-1-1', parts: [{ text: 'first' }] },
      { artifactId: 'own', parts: [{ text: 'second' }] },
      { artifactId: 'result-3', name: 'result', parts: [{ text: 'answer' }] },
    ]);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.status.message).toBeUndefined();
  });

  it('status() reports a working update carrying the text', async () => {
    const h = harness(async (ctx) => {
      await ctx.status('halfway');
    });
    await h.worker.onDelivery(delivery(request()));
    const progress = h.emitted[1]!.event;
    expect('statusUpdate' in progress && progress.statusUpdate.status.state).toBe('TASK_STATE_WORKING');
    expect('statusUpdate' in progress && textOfParts(progress.statusUpdate.status.message!.parts)).toBe('halfway');
    expect('statusUpdate' in progress && progress.statusUpdate.status.message!.role).toBe('ROLE_AGENT');
  });

  it('an object result: its artifacts and message; input-required is not remembered as done', async () => {
    const store = new MemoryIdempotencyStore();
    const h = harness(
      () => ({
        artifacts: [{ artifactId: 'a', parts: [{ text: 'x' }] }],
        message: { messageId: 'q', role: 'ROLE_AGENT', parts: [{ text: 'which one?' }] },
        state: 'input-required' as const,
      }),
      { store },
    );
    await h.worker.onDelivery(delivery(request()));
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_INPUT_REQUIRED');
    expect(messageText(task)).toBe('which one?');
    expect(task.artifacts).toEqual([{ artifactId: 'a', parts: [{ text: 'x' }] }]);
    expect(await store.get('task-1')).toBeUndefined();
  });

  it('an object result without state completes and is remembered, answering the next delivery from the store', async () => {
    const store = new MemoryIdempotencyStore();
    const handler = vi.fn(() => ({ message: { messageId: 'r', role: 'ROLE_AGENT' as const, parts: [{ text: 'fine' }] } }));
    const h = harness(handler, { store });
    const d = delivery(request());
    await h.worker.onDelivery(d);
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts).toEqual([]);
    expect(messageText(task)).toBe('fine');
    expect(await store.get('task-1')).toEqual(task);
    expect(d.terms).toEqual([]);
    await h.worker.onDelivery(delivery(request()));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(h.emitted.at(-1)!.marks).toEqual({ servedFromStore: true });
  });

  it('an object result with neither artifacts nor message completes empty', async () => {
    const h = harness(() => ({}));
    await h.worker.onDelivery(delivery(request()));
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(task.artifacts).toEqual([]);
    expect('message' in task.status).toBe(false);
  });

  it('ctx.dispatch asks for a child of this request with the timeout given', async () => {
    const h = harness(async (ctx) => {
      await ctx.dispatch('other', 'sub', { timeoutMs: 1234 });
      await ctx.dispatch('third', 'sub2');
    });
    await h.worker.onDelivery(delivery(request()));
    expect(h.children.map((c) => [c.parent.taskId, c.capability, c.message, c.timeoutMs])).toEqual([
      ['task-1', 'other', 'sub', 1234],
      ['task-1', 'third', 'sub2', undefined],
    ]);
  });
});

describe('CapabilityWorker: cancel', () => {
  it('a cancel aborts the running handler signal; the task ends canceled with what it emitted', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const store = new MemoryIdempotencyStore();
    const reasons: string[] = [];
    let calls = 0;
    const h = harness(
      async (ctx) => {
        calls += 1;
        if (calls > 1) return 'second run';
        await ctx.artifact('partial');
        started();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        reasons.push((ctx.signal.reason as Error).message);
        return 'late';
      },
      { store },
    );
    const d = delivery(request());
    const done = h.worker.onDelivery(d);
    await running;
    expect(h.worker.inFlight).toBe(1);
    h.worker.cancel('task-1');
    await done;
    expect(reasons).toEqual(['canceled']);
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_CANCELED');
    expect(messageText(task)).toBe('canceled');
    expect(task.artifacts?.map((a) => a.artifactId)).toEqual(['task-1-1']);
    expect(await store.get('task-1')).toBeUndefined();
    expect(d.terms).toEqual([]);
    // The cancel hit a running task: it is not kept for a later delivery.
    await h.worker.onDelivery(delivery(request()));
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('a handler that throws after its cancel ends canceled, not failed, and is not retried', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const h = harness(async (ctx) => {
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      throw new Error('aborted');
    });
    const done = h.worker.onDelivery(delivery(request()));
    await running;
    h.worker.cancel('task-1');
    await expect(done).resolves.toBeUndefined();
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_CANCELED');
  });

  it('the handler signal also aborts when the delivery is given up', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let aborted = false;
    const h = harness(async (ctx) => {
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted = ctx.signal.aborted;
      return 'stopped';
    });
    const d = delivery(request());
    const done = h.worker.onDelivery(d);
    await running;
    d.controller.abort();
    await done;
    expect(aborted).toBe(true);
    // Not a cancel: the handler's own result stands.
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
  });
});

describe('CapabilityWorker: the handler signal is made when first read', () => {
  it('read after a cancel or after its delivery was given up, it is aborted already, with the reason', async () => {
    let proceed!: () => void;
    const seen: Array<{ aborted: boolean; reason: unknown }> = [];
    const h = harness(async (ctx) => {
      await new Promise<void>((resolve) => (proceed = resolve));
      seen.push({ aborted: ctx.signal.aborted, reason: ctx.signal.reason });
      return 'done';
    });
    const canceled = h.worker.onDelivery(delivery(request()));
    await vi.waitFor(() => expect(h.worker.inFlight).toBe(1));
    h.worker.cancel('task-1');
    proceed();
    await canceled;
    expect(seen[0]!.aborted).toBe(true);
    expect((seen[0]!.reason as Error).message).toBe('canceled');
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_CANCELED');

    const lost = delivery(request({}, { [runtimeHeaders.taskId]: 'task-2' }));
    const givenUp = h.worker.onDelivery(lost);
    await vi.waitFor(() => expect(h.worker.inFlight).toBe(1));
    lost.controller.abort(new Error('partition lost'));
    proceed();
    await givenUp;
    expect(seen[1]!.aborted).toBe(true);
    expect((seen[1]!.reason as Error).message).toBe('partition lost');
  });

  it("leaves no listener on the delivery's signal (a partition's, which lives long): not read, read, or read after the task ended", async () => {
    let late: (() => AbortSignal) | undefined;
    const handlers: TaskHandler[] = [
      () => 'never reads it',
      (ctx) => (ctx.signal.aborted ? 'aborted' : 'reads it'),
      (ctx) => {
        late = () => ctx.signal;
        return 'reads it later';
      },
    ];
    for (const [i, handler] of handlers.entries()) {
      const h = harness(handler);
      const d = delivery(request({}, { [runtimeHeaders.taskId]: `task-${i}` }));
      await h.worker.onDelivery(d);
      expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
      expect(getEventListeners(d.signal, 'abort')).toHaveLength(0);
      if (late) {
        expect(late().aborted).toBe(false);
        expect(getEventListeners(d.signal, 'abort')).toHaveLength(0);
      }
    }
  });

  it('while the handler runs, aborting the delivery aborts the signal it read', async () => {
    let started!: (signal: AbortSignal) => void;
    const running = new Promise<AbortSignal>((resolve) => (started = resolve));
    const h = harness(async (ctx) => {
      started(ctx.signal);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      return 'stopped';
    });
    const d = delivery(request());
    const done = h.worker.onDelivery(d);
    const signal = await running;
    expect(getEventListeners(d.signal, 'abort')).toHaveLength(1);
    d.controller.abort(new Error('gone'));
    await done;
    expect((signal.reason as Error).message).toBe('gone');
    expect(getEventListeners(d.signal, 'abort')).toHaveLength(0);
  });
});

describe('CapabilityWorker: progress nobody reads', () => {
  it('makes no working event when neither an audit trail nor the caller would get it; the handler and the final task are the same', async () => {
    const asked: Array<{ taskId: string; finalOnly: boolean }> = [];
    for (const records of [false, true]) {
      const h = harness(() => 'ran', {
        recordsProgress: (req) => {
          asked.push({ taskId: req.taskId, finalOnly: req.finalOnly });
          return records;
        },
      });
      await h.worker.onDelivery(delivery(request({}, { [runtimeHeaders.taskId]: 'task-1', [runtimeHeaders.replies]: 'final' })));
      const kinds = h.emitted.map((e) => Object.keys(e.event)[0]);
      expect(kinds).toEqual(records ? ['statusUpdate', 'task'] : ['task']);
      expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_COMPLETED');
    }
    expect(asked).toEqual([
      { taskId: 'task-1', finalOnly: true },
      { taskId: 'task-1', finalOnly: true },
    ]);
    // Without the header the request wants every event.
    const h = harness(() => 'ran', { recordsProgress: (req) => !req.finalOnly });
    await h.worker.onDelivery(delivery(request()));
    expect(h.emitted.map((e) => Object.keys(e.event)[0])).toEqual(['statusUpdate', 'task']);
  });
});

describe('CapabilityWorker: the idempotency store', () => {
  it('a subclass of the memory store is asked through its own get and set', async () => {
    class CountingStore extends MemoryIdempotencyStore {
      gets = 0;
      sets = 0;
      override async get(taskId: string): Promise<A2ATask | undefined> {
        this.gets += 1;
        return super.get(taskId);
      }
      override async set(taskId: string, task: A2ATask): Promise<void> {
        this.sets += 1;
        return super.set(taskId, task);
      }
    }
    const store = new CountingStore();
    const handler = vi.fn(() => 'ran');
    const h = harness(handler, { store });
    await h.worker.onDelivery(delivery(request()));
    await h.worker.onDelivery(delivery(request()));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(h.emitted.at(-1)!.marks).toEqual({ servedFromStore: true });
    expect({ gets: store.gets, sets: store.sets }).toEqual({ gets: 2, sets: 1 });
  });
});

describe('CapabilityWorker: failures', () => {
  it('TaskRejectedError: rejected at once, remembered, and the delivery termed', async () => {
    const store = new MemoryIdempotencyStore();
    const h = harness(
      () => {
        throw new TaskRejectedError('not for me');
      },
      { store },
    );
    const d = delivery(request());
    await expect(h.worker.onDelivery(d)).resolves.toBeUndefined();
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_REJECTED');
    expect(messageText(task)).toContain('not for me');
    expect(d.terms).toEqual(['rejected']);
    expect(await store.get('task-1')).toEqual(task);
  });

  it('NonRetryableError: failed at once, not remembered, and the delivery termed', async () => {
    const store = new MemoryIdempotencyStore();
    const h = harness(
      () => {
        throw new NonRetryableError('bad input');
      },
      { store },
    );
    const d = delivery(request());
    await expect(h.worker.onDelivery(d)).resolves.toBeUndefined();
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(messageText(task)).toContain('bad input');
    expect(d.terms).toEqual(['failed']);
    expect(await store.get('task-1')).toBeUndefined();
  });

  it('a failing attempt before the last: a retry event marked attemptEnd, a warning, and the error rethrown', async () => {
    const failure = new Error('flaky');
    const h = harness(
      () => {
        throw failure;
      },
      { maxAttempts: 3 },
    );
    const d = delivery(request(), 2);
    await expect(h.worker.onDelivery(d)).rejects.toBe(failure);
    expect(h.emitted).toHaveLength(2);
    const retry = h.emitted[1]!;
    expect(retry.marks).toEqual({ attemptEnd: 'retry' });
    expect('statusUpdate' in retry.event && retry.event.statusUpdate.status.state).toBe('TASK_STATE_WORKING');
    expect('statusUpdate' in retry.event && textOfParts(retry.event.statusUpdate.status.message!.parts)).toBe('attempt 2 failed: flaky; retrying');
    const warns = h.logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.message).toBe('task attempt failed; retrying');
    expect(warns[0]!.fields).toMatchObject({ err: failure, taskId: 'task-1', attempt: 2 });
    expect(d.terms).toEqual([]);
    expect(h.worker.inFlight).toBe(0);
  });

  it('the last attempt: the caller gets a failed task naming the attempts, and the error is rethrown for the dead letter', async () => {
    const h = harness(
      () => {
        throw 'plain string';
      },
      { maxAttempts: 3 },
    );
    const d = delivery(request(), 3);
    await expect(h.worker.onDelivery(d)).rejects.toBe('plain string');
    const task = finalOf(h.emitted);
    expect(task.status.state).toBe('TASK_STATE_FAILED');
    expect(messageText(task)).toBe('failed after 3 attempts: plain string');
    expect(h.emitted.some((e) => e.marks?.attemptEnd)).toBe(false);
    expect(h.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(d.terms).toEqual([]);
  });

  it('an attempt whose delivery was given up (partition lost) is no failed attempt: no answer, no retry event, even on the last one', async () => {
    const h = harness(
      async (ctx) => {
        d.controller.abort(new Error('lease lost'));
        await Promise.resolve();
        if (ctx.signal.aborted) throw new Error('aborted: the delivery was given up');
      },
      { maxAttempts: 3 },
    );
    const d = delivery(request(), 3);
    await expect(h.worker.onDelivery(d)).rejects.toThrow('aborted: the delivery was given up');
    // Only the working event that started the attempt: the new owner answers.
    expect(h.emitted.map((e) => e.marks)).toEqual([{ attempt: 3 }]);
    expect(d.terms).toEqual([]);
    expect(h.logger.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'task attempt given up: its delivery went to another member' }));
    expect(h.logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('an answer that could not be sent is sent again on the retry, without running the handler again (failed and canceled tasks are not stored)', async () => {
    let runs = 0;
    let failing = true;
    const h = harness(
      () => {
        runs += 1;
        throw new NonRetryableError('bad input');
      },
      { failEmit: (event) => 'task' in event && failing },
    );
    const first = delivery(request(), 1);
    await expect(h.worker.onDelivery(first)).rejects.toThrow('publish failed: connection lost');
    expect(first.terms).toEqual([]); // not termed: the retry must come
    const warn = h.logger.lines.find((l) => l.level === 'warn');
    expect(warn?.message).toBe("could not send the task's answer; the request is delivered again and the answer sent then, without running the task again");
    expect(warn?.fields).toMatchObject({ taskId: 'task-1', state: 'failed' });

    // The retry fails to send as well: still nothing run again.
    const second = delivery(request(), 2);
    await expect(h.worker.onDelivery(second)).rejects.toThrow('publish failed: connection lost');
    failing = false;
    const third = delivery(request(), 3);
    await expect(h.worker.onDelivery(third)).resolves.toBeUndefined();
    expect(runs).toBe(1);
    expect(h.emitted.filter((e) => 'task' in e.event)).toHaveLength(1);
    expect(finalOf(h.emitted).status.state).toBe('TASK_STATE_FAILED');
    expect(messageText(finalOf(h.emitted))).toContain('bad input');
    expect(third.terms).toEqual(['failed']);

    // Answered: a later duplicate runs the task as any request it has not seen (failed tasks are not remembered).
    await expect(h.worker.onDelivery(delivery(request(), 1))).resolves.toBeUndefined();
    expect(runs).toBe(2);
  });

  it('an attempt past maxAttempts also fails for good', async () => {
    const h = harness(
      () => {
        throw new Error('boom');
      },
      { maxAttempts: 2 },
    );
    await expect(h.worker.onDelivery(delivery(request(), 5))).rejects.toThrow('boom');
    expect(messageText(finalOf(h.emitted))).toBe('failed after 5 attempts: boom');
  });
});

describe('CapabilityWorker: a request the transport dead-lettered', () => {
  const notice = (
    cause: DeadLetterNotice['cause'],
    envelope: Envelope | undefined,
    deadLetterTopic: string | false = 'ns.tasks.cap.dlq',
  ): DeadLetterNotice => ({
    cause,
    reason: cause,
    ...(envelope ? { envelope } : {}),
    partition: 0,
    offset: '7',
    attempts: 4,
    deadLetterTopic,
    error: new Error('x'),
  });

  it('a crash loop: the caller gets a failed task naming the deliveries and where the request went; nothing runs', async () => {
    const handler = vi.fn();
    const h = harness(handler);
    await h.worker.onDeadLetter(notice('crash-loop', request()));
    expect(handler).not.toHaveBeenCalled();
    const task = finalOf(h.emitted);
    expect(h.emitted).toHaveLength(1);
    expect(task).toMatchObject({ id: 'task-1', contextId: 'wf-1', status: { state: 'TASK_STATE_FAILED' } });
    expect(messageText(task)).toBe('crash loop: delivered 4 times and never answered (dead-lettered to ns.tasks.cap.dlq)');
    expect(h.logger.lines.some((l) => l.message === 'task dead-lettered as a crash loop; answering its caller')).toBe(true);
    expect(await h.store.get('task-1')).toBeUndefined();
    await h.worker.onDeadLetter(notice('crash-loop', request(), false));
    expect(messageText(finalOf(h.emitted))).toMatch(/never answered \(dropped\)$/);
  });

  it('a crash loop of a task that completed before its holder died: the stored answer, marked', async () => {
    const store = new MemoryIdempotencyStore();
    const done = { id: 'task-1', contextId: 'wf-1', status: { state: 'TASK_STATE_COMPLETED' } } as A2ATask;
    await store.set('task-1', done);
    const h = harness(vi.fn(), { store });
    await h.worker.onDeadLetter(notice('crash-loop', request()));
    expect(h.emitted).toEqual([{ request: expect.objectContaining({ taskId: 'task-1' }), event: { task: done }, marks: { servedFromStore: true } }]);
  });

  it('answers nothing for other causes, undecoded bytes, non-requests or a foreign reply topic', async () => {
    const h = harness(vi.fn());
    await h.worker.onDeadLetter(notice('exhausted', request())); // the last attempt answered already
    await h.worker.onDeadLetter(notice('undecodable', undefined));
    await h.worker.onDeadLetter(notice('crash-loop', undefined));
    await h.worker.onDeadLetter(
      notice('crash-loop', request({ payload: { messageId: 'm2', role: 'ROLE_USER', parts: [{ text: 'no task' }] } } as Partial<EnvelopeInput>, null)),
    );
    await h.worker.onDeadLetter(notice('crash-loop', request({ replyTo: 'other.replies' })));
    expect(h.emitted).toEqual([]);
    expect(h.replyChecks).toEqual(['other.replies']);
  });
});

describe('textArtifact', () => {
  it('names the artifact only when a name is given', () => {
    expect(textArtifact('a1', 'hi')).toEqual({ artifactId: 'a1', parts: [{ text: 'hi' }] });
    expect(textArtifact('a1', 'hi', 'label')).toEqual({ artifactId: 'a1', name: 'label', parts: [{ text: 'hi' }] });
    expect('name' in textArtifact('a1', 'hi', '')).toBe(false);
  });
});
