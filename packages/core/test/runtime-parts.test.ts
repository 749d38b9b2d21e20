import { afterEach, describe, expect, it, vi } from 'vitest';
import type { A2AStreamResponse, A2ATask, A2ATaskState } from '../src/a2a/schema.js';
import { createEnvelope, type EnvelopeInput } from '../src/envelope.js';
import { TaskError, TaskTimeoutError } from '../src/index.js';
import {
  agentText,
  artifactEvent,
  finalTask,
  isFinal,
  stateName,
  statusEvent,
  type TaskStateName,
  textOfParts,
  userText,
  wireState,
} from '../src/runtime/a2a.js';
import { PendingTask, PendingTasks } from '../src/runtime/caller.js';
import { MemoryIdempotencyStore } from '../src/runtime/idempotency.js';
import { INSTANCE_ID_PATTERN, runtimeHeaders, runtimeTopics } from '../src/runtime/topics.js';

const NOW = '2030-01-01T00:00:00.000Z';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

afterEach(() => {
  vi.useRealTimers();
});

const taskEvent = (id: string, state: A2ATaskState, reason?: string): A2AStreamResponse => ({
  task: {
    id,
    contextId: 'wf',
    status: { state, ...(reason === undefined ? {} : { message: agentText(reason) }) },
    artifacts: [],
    history: [],
  } as A2ATask,
});

describe('runtime A2A helpers', () => {
  const names: Array<[TaskStateName, A2ATaskState]> = [
    ['submitted', 'TASK_STATE_SUBMITTED'],
    ['working', 'TASK_STATE_WORKING'],
    ['completed', 'TASK_STATE_COMPLETED'],
    ['failed', 'TASK_STATE_FAILED'],
    ['canceled', 'TASK_STATE_CANCELED'],
    ['rejected', 'TASK_STATE_REJECTED'],
    ['input-required', 'TASK_STATE_INPUT_REQUIRED'],
  ];

  it('maps every short state name to its wire state and back', () => {
    for (const [name, wire] of names) {
      expect(wireState(name)).toBe(wire);
      expect(stateName(wire)).toBe(name);
    }
    expect(stateName('TASK_STATE_AUTH_REQUIRED' as A2ATaskState)).toBeUndefined();
  });

  it('only submitted and working are not final', () => {
    for (const [name, wire] of names) expect(isFinal(wire), name).toBe(name !== 'submitted' && name !== 'working');
  });

  it('builds user and agent text messages with fresh ids; extra fields win', () => {
    const user = userText('hi');
    const agent = agentText('yo');
    expect(user).toEqual({ messageId: expect.stringMatching(UUID), role: 'ROLE_USER', parts: [{ text: 'hi' }] });
    expect(agent).toEqual({ messageId: expect.stringMatching(UUID), role: 'ROLE_AGENT', parts: [{ text: 'yo' }] });
    expect(userText('hi').messageId).not.toBe(user.messageId);
    expect(agentText('yo').messageId).not.toBe(agent.messageId);
    expect(userText('hi', { taskId: 't', messageId: 'fixed' })).toEqual({ messageId: 'fixed', role: 'ROLE_USER', parts: [{ text: 'hi' }], taskId: 't' });
    expect(agentText('yo', { contextId: 'c' }).contextId).toBe('c');
  });

  it('joins the text of text parts only, in order', () => {
    expect(textOfParts([{ text: 'a' }, { data: { x: 1 } }, { text: 'b' }, { text: '' }, { text: 'c' }] as never)).toBe('abc');
    expect(textOfParts([])).toBe('');
  });

  it('status events carry the task, the wire state, the time and the message only when given', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(NOW));
    const message = agentText('progress');
    expect(statusEvent({ id: 't', contextId: 'c' }, 'working')).toEqual({
      statusUpdate: { taskId: 't', contextId: 'c', status: { state: 'TASK_STATE_WORKING', timestamp: NOW } },
    });
    expect(statusEvent({ id: 't', contextId: 'c' }, 'failed', message)).toEqual({
      statusUpdate: { taskId: 't', contextId: 'c', status: { state: 'TASK_STATE_FAILED', timestamp: NOW, message } },
    });
  });

  it('artifact events default to a whole, last chunk', () => {
    const artifact = { artifactId: 'a', parts: [{ text: 'x' }] };
    expect(artifactEvent({ id: 't', contextId: 'c' }, artifact)).toEqual({
      artifactUpdate: { taskId: 't', contextId: 'c', artifact, append: false, lastChunk: true },
    });
    expect(artifactEvent({ id: 't', contextId: 'c' }, artifact, true, false)).toEqual({
      artifactUpdate: { taskId: 't', contextId: 'c', artifact, append: true, lastChunk: false },
    });
  });

  it('final tasks hold the state, time, artifacts, history and the message only when given', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(NOW));
    const history = [userText('q')];
    const artifacts = [{ artifactId: 'a', parts: [{ text: 'x' }] }];
    expect(finalTask({ id: 't', contextId: 'c' }, 'completed', artifacts, history)).toEqual({
      id: 't',
      contextId: 'c',
      status: { state: 'TASK_STATE_COMPLETED', timestamp: NOW },
      artifacts,
      history,
    });
    const message = agentText('why');
    expect(finalTask({ id: 't', contextId: 'c' }, 'rejected', [], [], message).status).toEqual({ state: 'TASK_STATE_REJECTED', timestamp: NOW, message });
  });
});

describe('PendingTask: one dispatch waiting for its events', () => {
  it('queues events for the reader and resolves with the completed task', async () => {
    const pending = new PendingTask('t');
    const working: A2AStreamResponse = { statusUpdate: { taskId: 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } };
    expect(pending.accept(working)).toBe(false);
    expect(pending.accept(taskEvent('t', 'TASK_STATE_WORKING'))).toBe(false);
    const done = taskEvent('t', 'TASK_STATE_COMPLETED');
    expect(pending.accept(done)).toBe(true);
    expect(await pending.result).toBe((done as { task: A2ATask }).task);
    const seen: A2AStreamResponse[] = [];
    for await (const event of pending.events()) seen.push(event);
    expect(seen).toEqual([working, taskEvent('t', 'TASK_STATE_WORKING'), done]);
    // Over: later events are neither queued nor change the result.
    expect(pending.accept(taskEvent('t', 'TASK_STATE_FAILED'))).toBe(true);
    const again: A2AStreamResponse[] = [];
    for await (const event of pending.events()) again.push(event);
    expect(again).toEqual([]);
  });

  it('a reader waiting for events wakes for each one as it arrives', async () => {
    const pending = new PendingTask('t');
    const seen: A2AStreamResponse[] = [];
    const reading = (async () => {
      for await (const event of pending.events()) seen.push(event);
    })();
    await Promise.resolve();
    const working: A2AStreamResponse = { statusUpdate: { taskId: 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } };
    pending.accept(working);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([working]);
    pending.accept(taskEvent('t', 'TASK_STATE_COMPLETED'));
    await reading;
    expect(seen).toHaveLength(2);
  });

  it('a final task other than completed fails with a TaskError giving the state and the reason', async () => {
    const failed = new PendingTask('t1');
    failed.accept(taskEvent('t1', 'TASK_STATE_FAILED', 'it broke'));
    const error = (await failed.result.catch((e: unknown) => e)) as TaskError;
    expect(TaskError.isInstance(error)).toBe(true);
    expect(error.taskId).toBe('t1');
    expect(error.state).toBe('failed');
    expect(error.message).toContain('it broke');
    expect((error.task as A2ATask).id).toBe('t1');

    const silent = new PendingTask('t2');
    silent.accept(taskEvent('t2', 'TASK_STATE_INPUT_REQUIRED'));
    const noReason = (await silent.result.catch((e: unknown) => e)) as TaskError;
    expect(noReason.state).toBe('input-required');
    expect(noReason.message).toContain('no reason given');

    const odd = new PendingTask('t3');
    expect(odd.accept(taskEvent('t3', 'TASK_STATE_AUTH_REQUIRED' as A2ATaskState, 'login'))).toBe(true);
    const raw = (await odd.result.catch((e: unknown) => e)) as TaskError;
    expect(raw.state).toBe('TASK_STATE_AUTH_REQUIRED');
  });

  it('the stream yields what came, then throws what the result rejects with', async () => {
    const pending = new PendingTask('t');
    const working: A2AStreamResponse = { statusUpdate: { taskId: 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } };
    pending.accept(working);
    const failure = new Error('gone');
    pending.fail(failure);
    pending.fail(new Error('second'));
    await expect(pending.result).rejects.toBe(failure);
    const seen: A2AStreamResponse[] = [];
    const error = await (async () => {
      for await (const event of pending.events()) seen.push(event);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([working]);
    expect(error).toBe(failure);
  });

  it('a dispatch that does not stream keeps no events; a stream joining it sees those from then on', async () => {
    const pending = new PendingTask('t', { keepEvents: false });
    const working: A2AStreamResponse = { statusUpdate: { taskId: 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } };
    pending.accept(working);
    pending.keepEvents();
    const artifact: A2AStreamResponse = { artifactUpdate: { taskId: 't', contextId: 'wf', artifact: { artifactId: 'a', parts: [{ text: 'x' }] } } };
    pending.accept(artifact);
    const done = taskEvent('t', 'TASK_STATE_COMPLETED');
    pending.accept(done);
    const seen: A2AStreamResponse[] = [];
    for await (const event of pending.events()) seen.push(event);
    expect(seen).toEqual([artifact, done]);
    expect(await pending.result).toBe((done as { task: A2ATask }).task);
  });

  it('runs what waits for the end once, when it ends, or at once if it has', async () => {
    const pending = new PendingTask('t');
    const calls: string[] = [];
    pending.whenEnded(() => calls.push('a'));
    pending.whenEnded(() => calls.push('b'));
    expect(calls).toEqual([]);
    pending.fail(new Error('x'));
    pending.fail(new Error('y'));
    expect(calls).toEqual(['a', 'b']);
    pending.whenEnded(() => calls.push('c'));
    expect(calls).toEqual(['a', 'b', 'c']);
    await expect(pending.result).rejects.toThrow('x');
  });

  it('times out with TaskTimeoutError unless the final event came first; a restart replaces the timer', async () => {
    vi.useFakeTimers();
    const pending = new PendingTask('t');
    const onTimeout = vi.fn();
    pending.startTimer(1_000, onTimeout);
    await vi.advanceTimersByTimeAsync(600);
    pending.startTimer(1_000, onTimeout);
    await vi.advanceTimersByTimeAsync(600);
    expect(onTimeout).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(399);
    expect(onTimeout).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    const error = (await pending.result.catch((e: unknown) => e)) as TaskTimeoutError;
    expect(TaskTimeoutError.isInstance(error)).toBe(true);
    expect(error.taskId).toBe('t');
    expect(error.timeoutMs).toBe(1_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it('no timeout once the task is over, whether the timer started before or after', async () => {
    vi.useFakeTimers();
    const before = new PendingTask('a');
    const onBefore = vi.fn();
    before.startTimer(100, onBefore);
    before.accept(taskEvent('a', 'TASK_STATE_COMPLETED'));
    const after = new PendingTask('b');
    after.accept(taskEvent('b', 'TASK_STATE_COMPLETED'));
    const onAfter = vi.fn();
    after.startTimer(100, onAfter);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(onBefore).not.toHaveBeenCalled();
    expect(onAfter).not.toHaveBeenCalled();
    await expect(before.result).resolves.toMatchObject({ id: 'a' });
  });
});

describe('PendingTasks: routing replies', () => {
  const reply = (input: Partial<EnvelopeInput>) =>
    createEnvelope({ kind: 'stream-response', key: 'wf', payload: taskEvent('t', 'TASK_STATE_COMPLETED'), ...input } as EnvelopeInput);

  it('routes a stream response to the dispatch its correlation id names; others are dropped', async () => {
    const pending = new PendingTasks();
    const task = pending.add('t');
    const other = pending.add('u');
    pending.route(reply({ correlationId: 'nobody' }));
    pending.route(reply({}));
    pending.route(createEnvelope({ kind: 'message', key: 'wf', correlationId: 't', payload: userText('not a reply') }));
    expect(pending.get('t')).toBe(task);
    pending.route(reply({ correlationId: 't' }));
    await expect(task.result).resolves.toMatchObject({ id: 't' });
    expect(pending.get('u')).toBe(other);
    const events: A2AStreamResponse[] = [];
    other.accept(taskEvent('u', 'TASK_STATE_WORKING'));
    pending.failAll(new Error('closed'));
    await expect(other.result).rejects.toThrow('closed');
    for await (const event of task.events()) events.push(event);
    expect(events).toHaveLength(1);
  });

  it('an ended dispatch leaves the table at once; a new one with its task id is a new dispatch', async () => {
    const pending = new PendingTasks();
    const first = pending.add('t', false);
    pending.route(reply({ correlationId: 't' }));
    expect(pending.get('t')).toBeUndefined();
    await expect(first.result).resolves.toMatchObject({ id: 't' });
    const second = pending.add('t', false);
    first.fail(new Error('late')); // over already: changes nothing, removes nothing
    expect(pending.get('t')).toBe(second);
  });

  it('failAll fails every open dispatch', async () => {
    const pending = new PendingTasks();
    const a = pending.add('a');
    const b = pending.add('b');
    const failure = new Error('bye');
    pending.failAll(failure);
    await expect(a.result).rejects.toBe(failure);
    await expect(b.result).rejects.toBe(failure);
  });
});

describe('MemoryIdempotencyStore', () => {
  const task = (id: string) => ({ id, contextId: 'wf', status: { state: 'TASK_STATE_COMPLETED' } }) as A2ATask;

  it('keeps at most `capacity` results, dropping the oldest', async () => {
    const store = new MemoryIdempotencyStore(2);
    await store.set('a', task('a'));
    await store.set('b', task('b'));
    expect(store.size).toBe(2);
    await store.set('c', task('c'));
    expect(store.size).toBe(2);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toEqual(task('b'));
    expect(await store.get('c')).toEqual(task('c'));
  });

  it('setting a result again makes it the newest', async () => {
    const store = new MemoryIdempotencyStore(2);
    await store.set('a', task('a'));
    await store.set('b', task('b'));
    await store.set('a', task('a'));
    await store.set('c', task('c'));
    expect(await store.get('a')).toEqual(task('a'));
    expect(await store.get('b')).toBeUndefined();
  });

  it('forgets a result after its ttl: on read, and expired heads on write', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(NOW));
    const store = new MemoryIdempotencyStore(100, 1_000);
    await store.set('a', task('a'));
    vi.setSystemTime(Date.parse(NOW) + 500);
    await store.set('b', task('b'));
    vi.setSystemTime(Date.parse(NOW) + 999);
    expect(await store.get('a')).toEqual(task('a'));
    vi.setSystemTime(Date.parse(NOW) + 1_000);
    expect(await store.get('a')).toBeUndefined();
    expect(store.size).toBe(1);
    await store.set('c', task('c'));
    vi.setSystemTime(Date.parse(NOW) + 1_500);
    // b expires now; writing d drops it (and only it) without any read.
    await store.set('d', task('d'));
    expect(store.size).toBe(2);
    expect(await store.get('c')).toEqual(task('c'));
    expect(await store.get('d')).toEqual(task('d'));
  });

  it('defaults: 24 h and a large capacity', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(NOW));
    const store = new MemoryIdempotencyStore();
    for (let i = 0; i < 1_000; i += 1) await store.set(`t${i}`, task(`t${i}`));
    expect(store.size).toBe(1_000);
    vi.setSystemTime(Date.parse(NOW) + 86_399_999);
    expect(await store.get('t0')).toEqual(task('t0'));
    vi.setSystemTime(Date.parse(NOW) + 86_400_000);
    expect(await store.get('t0')).toBeUndefined();
  });
});

describe('runtime topics and headers', () => {
  it('names every topic under the namespace', () => {
    const topics = runtimeTopics('ns');
    expect(topics.tasks('text.upper')).toBe('ns.tasks.text.upper');
    expect(topics.replies).toBe('ns.replies');
    expect(topics.registry).toBe('ns.registry');
    expect(topics.control).toBe('ns.control');
    expect(topics.workflows).toBe('ns.workflows');
    expect(topics.isReplyTopic('ns.replies')).toBe(true);
    expect(topics.isReplyTopic('other.replies')).toBe(false);
    expect(topics.isReplyTopic('ns.workflows')).toBe(false);
  });

  it('keeps the header names of the wire format', () => {
    expect(runtimeHeaders).toEqual({
      type: 'a2a-bus.type',
      capability: 'a2a-bus.capability',
      instance: 'a2a-bus.instance',
      taskId: 'a2a-bus.task-id',
      attempt: 'a2a-bus.attempt',
      attemptEnd: 'a2a-bus.attempt-end',
      servedFrom: 'a2a-bus.served-from',
      replies: 'a2a-bus.replies',
      inFlight: 'a2a-bus.in-flight',
    });
  });

  it('instance ids: word characters, colons and dashes, 1 to 200 of them', () => {
    for (const ok of ['a', 'bus-1', 'host:42_x', 'x'.repeat(200)]) expect(INSTANCE_ID_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['', 'a b', 'a/b', 'a.b', 'x'.repeat(201), 'ok\nbad', ' a']) expect(INSTANCE_ID_PATTERN.test(bad), bad).toBe(false);
  });
});
