import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../../memory/src/index.js';
import type { A2AMessage, A2AStreamResponse, A2ATask } from '../src/a2a/schema.js';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../src/envelope.js';
import {
  AgentBus,
  type AgentBusOptions,
  type BusErrorEvent,
  InvalidOptionsError,
  NoAgentError,
  TaskError,
  TaskTimeoutError,
  TransportClosedError,
} from '../src/index.js';
import { textOfParts, userText } from '../src/runtime/a2a.js';
import { createAgentBus } from '../src/runtime/agent-bus.js';
import { MemoryIdempotencyStore } from '../src/runtime/idempotency.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import { CapabilityWorker, type TaskHandler } from '../src/runtime/worker.js';
import type { Logger } from '../src/logger.js';
import type { MessageHandler, SubscribeOptions, Subscription, Transport } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';
import { card } from './support/runtime-fixtures.js';

/** Polls `check` until it holds (the bound only keeps a broken case from hanging). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Spy {
  readonly transport: Transport;
  readonly published: Array<{ topic: string; envelope: EnvelopeInput }>;
  readonly subscribed: Array<{ topic: string; options: SubscribeOptions; closed: () => boolean }>;
  /** Throws from publish (to matching topics) while set. */
  failPublish: ((topic: string) => Error | undefined) | undefined;
  failSubscribe: ((topic: string) => Error | undefined) | undefined;
}

/** A memory transport that records what goes through it, and can be made to fail. */
function spyTransport(inner: Transport): Spy {
  const spy: Spy = {
    transport: undefined as unknown as Transport,
    published: [],
    subscribed: [],
    failPublish: undefined,
    failSubscribe: undefined,
  };
  const transport = Object.create(inner) as Transport;
  Object.assign(transport, {
    connect: () => inner.connect(),
    close: (options?: Parameters<Transport['close']>[0]) => inner.close(options),
    replay: (topic: string, options?: Parameters<Transport['replay']>[1]) => inner.replay(topic, options),
    publish: async (topic: string, envelope: EnvelopeInput) => {
      const failure = spy.failPublish?.(topic);
      if (failure) throw failure;
      spy.published.push({ topic, envelope });
      return inner.publish(topic, envelope);
    },
    subscribe: async (topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription> => {
      const failure = spy.failSubscribe?.(topic);
      if (failure) throw failure;
      const subscription = await inner.subscribe(topic, handler, options);
      let closed = false;
      spy.subscribed.push({ topic, options, closed: () => closed });
      return Object.assign(Object.create(subscription) as Subscription, {
        close: (...args: Parameters<Subscription['close']>) => {
          closed = true;
          return subscription.close(...args);
        },
      });
    },
  });
  (spy as { transport: Transport }).transport = transport;
  return spy;
}

let broker = new MemoryBroker();
let cleanup: Array<() => Promise<unknown>> = [];
let counter = 0;

afterEach(async () => {
  vi.useRealTimers();
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
  broker = new MemoryBroker();
});

function memory(): Transport {
  const transport = createMemoryTransport({ broker, partitions: 2 });
  cleanup.push(() => transport.close({ drainTimeoutMs: 100 }));
  return transport;
}

/** A bus on a spied memory transport of its own (a process), in namespace `ns`. */
function bus(extra: Partial<AgentBusOptions> = {}): { bus: AgentBus; spy: Spy } {
  const spy = spyTransport(memory());
  counter += 1;
  const b = new AgentBus({ transport: spy.transport, namespace: 'ns', instanceId: `b${counter}`, agentTtlMs: 3_000, timeoutMs: 5_000, ...extra });
  cleanup.push(() => b.close());
  return { bus: b, spy };
}

const echo: TaskHandler = (ctx) => `echo:${textOfParts(ctx.message.parts)}`;
const resultText = (task: A2ATask): string => (task.artifacts ?? []).map((a) => textOfParts(a.parts)).join('|');

async function replayTopic(topic: string): Promise<Envelope[]> {
  const reader = memory();
  const out: Envelope[] = [];
  for await (const record of reader.replay(topic)) if (record.envelope) out.push(record.envelope);
  return out;
}

describe('AgentBus options', () => {
  it('refuses bad options with the field named', () => {
    const transport = memory();
    const field = (options: Record<string, unknown>): string | undefined => {
      try {
        new AgentBus({ transport, ...options } as AgentBusOptions);
        return undefined;
      } catch (error) {
        return InvalidOptionsError.isInstance(error) ? error.field : `other: ${String(error)}`;
      }
    };
    expect(field({ namespace: 'a b' })).toBe('namespace');
    expect(field({ namespace: 'ok.name-1_x' })).toBeUndefined();
    expect(field({ namespace: 'bad/' })).toBe('namespace');
    expect(field({ namespace: '/bad' })).toBe('namespace');
    expect(field({ instanceId: 'a/b' })).toBe('instanceId');
    expect(field({ agentTtlMs: 99 })).toBe('agentTtlMs');
    expect(field({ agentTtlMs: 100 })).toBeUndefined();
    expect(field({ timeoutMs: 0 })).toBe('timeoutMs');
    expect(field({ timeoutMs: 1 })).toBeUndefined();
    expect(field({ maxInFlight: 0 })).toBe('maxInFlight');
    expect(field({ maxInFlight: 1 })).toBeUndefined();
    expect(field({ retry: { maxAttempts: 0 } })).toBe('retry.maxAttempts');
    expect(field({ retry: { initialDelayMs: -1 } })).toBe('retry.initialDelayMs');
    expect(field({ retry: { maxDelayMs: -1 } })).toBe('retry.maxDelayMs');
    expect(field({ retry: { jitter: 1.5 } })).toBe('retry.jitter');
    expect(field({ retry: { jitter: -0.1 } })).toBe('retry.jitter');
    expect(field({ retry: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0, jitter: 1 } })).toBeUndefined();
    expect(field({ transport: 'nope' })).toBe('transport');
    expect(field({ transport: null })).toBe('transport');
    expect(field({ transport: {} })).toBe('transport');
    expect(field({ logger: 'console' })).toBe('logger');
    expect(field({ logger: null })).toBe('logger');
    expect(field({ idempotencyStore: 1 })).toBe('idempotencyStore');
    expect(field({ idempotencyStore: null })).toBe('idempotencyStore');
    expect(field({ onError: 'log' })).toBe('onError');
    expect(field({ audit: 'yes' })).toBe('audit');
  });

  it('says what each option must be', () => {
    const transport = memory();
    const problem = (options: Record<string, unknown>): string => {
      try {
        new AgentBus({ transport, ...options } as AgentBusOptions);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problem({ instanceId: 'a b' })).toContain('letters, digits, _ : - (at most 200)');
    expect(problem({ transport: {} })).toContain('a Transport');
    expect(problem({ logger: 1 })).toContain('a logger');
    expect(problem({ idempotencyStore: 1 })).toContain('an IdempotencyStore');
    expect(problem({ onError: 1 })).toContain('a function (event) => void');
  });

  it('names itself bus-<12 characters> unless given an id', () => {
    const transport = memory();
    const a = new AgentBus({ transport });
    const b = new AgentBus({ transport });
    expect(a.instanceId).toMatch(/^bus-[0-9a-f-]{12}$/);
    expect(b.instanceId).not.toBe(a.instanceId);
    expect(new AgentBus({ transport, instanceId: 'mine' }).instanceId).toBe('mine');
    expect(a.publicKey).toBeUndefined();
  });

  it('createAgentBus makes a bus with the options given', () => {
    const b = createAgentBus({ transport: memory(), instanceId: 'made' });
    expect(b).toBeInstanceOf(AgentBus);
    expect(b.instanceId).toBe('made');
  });

  it('defaults: a 15 s agent TTL (heartbeat every 5 s) and a 60 s dispatch timeout', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse('2030-01-01T00:00:00.000Z'));
    const spy = spyTransport(memory());
    const b = new AgentBus({ transport: spy.transport, namespace: 'ns' });
    cleanup.push(() => b.close());
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const beats = (): number => spy.published.filter((p) => p.envelope.headers?.[runtimeHeaders.type] === 'agent-heartbeat').length;
    vi.advanceTimersByTime(4_999);
    expect(beats()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(beats()).toBe(1);
    const expected = new Date(Date.now() + 60_000).toISOString();
    await b.dispatch('text.echo', 'x');
    const request = spy.published.find((p) => p.topic === 'ns.tasks.text.echo')!.envelope;
    expect(request.deadline).toBe(expected);
  });

  it('logs under its component and instance, workers under their capability', async () => {
    const bindings: Array<Record<string, unknown>> = [];
    const base = recordingLogger();
    const logger: Logger = {
      ...base,
      child: (fields) => {
        bindings.push(fields as Record<string, unknown>);
        return logger;
      },
    };
    const b = new AgentBus({ transport: memory(), namespace: 'ns', instanceId: 'logged', logger });
    cleanup.push(() => b.close());
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    expect(bindings).toEqual([{ component: 'agent-bus', instance: 'logged' }, { capability: 'text.echo' }]);
  });

  it('answers duplicates from the idempotency store it is given', async () => {
    const store = new MemoryIdempotencyStore();
    const done = {
      id: 'known',
      contextId: 'wf',
      status: { state: 'TASK_STATE_COMPLETED' },
      artifacts: [{ artifactId: 'a', parts: [{ text: 'from the store' }] }],
    } as A2ATask;
    await store.set('known', done);
    let runs = 0;
    const { bus: b } = bus({ idempotencyStore: store });
    await b.registerAgent(card('echo', 'text.echo'), {
      'text.echo': (ctx) => {
        runs += 1;
        return echo(ctx);
      },
    });
    expect(resultText(await b.dispatch('text.echo', 'x', { taskId: 'known' }))).toBe('from the store');
    expect(runs).toBe(0);
    await b.dispatch('text.echo', 'y', { taskId: 'new' });
    expect(await store.get('new')).toBeDefined();
  });

  it('works in the a2a namespace by default', async () => {
    const b = new AgentBus({ transport: memory(), instanceId: 'dflt' });
    cleanup.push(() => b.close());
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const announcements = await replayTopic('a2a.registry');
    expect(announcements.map((e) => e.headers?.[runtimeHeaders.instance])).toEqual(['dflt/echo']);
    expect(resultText(await b.dispatch('text.echo', 'hi'))).toBe('echo:hi');
    expect((await replayTopic('a2a.tasks.text.echo')).length).toBe(1);
  });
});

describe('AgentBus start and close', () => {
  it('starts once: replies and control on ephemeral groups of its own, from the latest record', async () => {
    const { bus: b, spy } = bus({ instanceId: 'solo' });
    const first = b.start();
    expect(b.start()).toBe(first);
    await first;
    const own = spy.subscribed.filter((s) => s.topic !== 'ns.registry');
    expect(own.map((s) => [s.topic, s.options])).toEqual([
      ['ns.replies', { group: 'replies-solo', startFrom: 'latest', ephemeral: true, deadLetterTopic: false }],
      ['ns.control', { group: 'control-solo', startFrom: 'latest', ephemeral: true, deadLetterTopic: false }],
    ]);
    // The reply probe came back through the replies subscription.
    expect(spy.published.filter((p) => p.topic === 'ns.replies').map((p) => p.envelope.headers?.[runtimeHeaders.type])).toEqual(['reply-probe']);
    await b.close();
    expect(spy.subscribed.every((s) => s.closed())).toBe(true);
  });

  it('a part that failed to start fails start(); the parts that started are closed with the bus', async () => {
    const { bus: b, spy } = bus();
    const failure = new Error('no control for you');
    spy.failSubscribe = (topic) => (topic === 'ns.control' ? failure : undefined);
    await expect(b.start()).rejects.toBe(failure);
    const replies = spy.subscribed.find((s) => s.topic === 'ns.replies');
    expect(replies?.closed()).toBe(false);
    await b.close();
    expect(replies?.closed()).toBe(true);
  });

  it('closed while starting: start() fails as closed, and nothing is left open', async () => {
    const { bus: b, spy } = bus();
    const starting = b.start();
    const closing = b.close();
    expect(b.close()).toBe(closing);
    const error = await starting.catch((e: unknown) => e);
    expect(TransportClosedError.isInstance(error)).toBe(true);
    await closing;
    expect(spy.subscribed.every((s) => s.closed())).toBe(true);
    await expect(b.dispatch('x', 'y')).rejects.toSatisfy((e) => TransportClosedError.isInstance(e));
    await expect(b.registerAgent(card('late', 'late'), { late: echo })).rejects.toSatisfy((e) => TransportClosedError.isInstance(e));
  });

  it('once closed, it neither dispatches nor registers agents', async () => {
    const { bus: b } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    await b.close();
    await expect(b.dispatch('text.echo', 'x')).rejects.toSatisfy((e) => TransportClosedError.isInstance(e));
    await expect(b.dispatch('text.echo', 'x', { whenNoAgent: 'enqueue' })).rejects.toSatisfy((e) => TransportClosedError.isInstance(e));
    await expect(b.registerAgent(card('late', 'late'), { late: echo })).rejects.toSatisfy((e) => TransportClosedError.isInstance(e));
  });

  it('close says goodbye for each agent and fails the dispatches still open', async () => {
    const worker = bus();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await worker.bus.registerAgent(card('slow', 'text.slow'), {
      'text.slow': async () => {
        started();
        await gate;
      },
    });
    const caller = bus();
    await caller.bus.start();
    await until('the agent in the registry', () => caller.bus.agents().length === 1);
    const result = caller.bus.dispatch('text.slow', 'x').catch((e: unknown) => e);
    await running;
    await caller.bus.close();
    release();
    const error = (await result) as TaskError;
    expect(TaskError.isInstance(error)).toBe(true);
    expect(error.state).toBe('canceled');
    expect(error.message).toContain('the agent bus closed');
    await worker.bus.close();
    const goodbyes = worker.spy.published.filter((p) => p.topic === 'ns.registry' && p.envelope.headers?.[runtimeHeaders.type] === 'agent-down');
    expect(goodbyes).toHaveLength(1);
  });

  it('heartbeats every third of the TTL (at least every 50 ms) until closed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { bus: b, spy } = bus({ agentTtlMs: 300 });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const beats = (): number => spy.published.filter((p) => p.envelope.headers?.[runtimeHeaders.type] === 'agent-heartbeat').length;
    expect(beats()).toBe(0);
    vi.advanceTimersByTime(99);
    expect(beats()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(beats()).toBe(1);
    vi.advanceTimersByTime(200);
    expect(beats()).toBe(3);
    const heartbeat = spy.published.find((p) => p.envelope.headers?.[runtimeHeaders.type] === 'agent-heartbeat')!;
    expect(heartbeat.envelope.headers).toEqual({
      [runtimeHeaders.type]: 'agent-heartbeat',
      [runtimeHeaders.instance]: `${b.instanceId}/echo`,
      [runtimeHeaders.inFlight]: '0',
    });
    await b.close();
    vi.advanceTimersByTime(1_000);
    expect(beats()).toBe(3);
  });

  it('heartbeats no more often than every 50 ms', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { bus: b, spy } = bus({ agentTtlMs: 100 });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const beats = (): number => spy.published.filter((p) => p.envelope.headers?.[runtimeHeaders.type] === 'agent-heartbeat').length;
    vi.advanceTimersByTime(49);
    expect(beats()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(beats()).toBe(1);
  });
});

describe('AgentBus agents', () => {
  it('announces an agent under <bus>/<name> with its tasks in flight, and knows it at once', async () => {
    const { bus: b, spy } = bus({ instanceId: 'host' });
    await b.registerAgent(card('echo', 'text.echo', 'text.loud'), { 'text.echo': echo, 'text.loud': echo });
    const up = spy.published.filter((p) => p.topic === 'ns.registry');
    expect(up).toHaveLength(1);
    expect(up[0]!.envelope.kind).toBe('agent-card');
    expect(up[0]!.envelope.key).toBe('host/echo');
    expect(up[0]!.envelope.headers).toEqual({
      [runtimeHeaders.type]: 'agent-up',
      [runtimeHeaders.instance]: 'host/echo',
      [runtimeHeaders.inFlight]: '0',
    });
    expect(b.agents().map((a) => [a.instanceId, a.capabilities])).toEqual([['host/echo', ['text.echo', 'text.loud']]]);
    // Workers join the capability's group on its task topic.
    const workers = spy.subscribed.filter((s) => s.topic.startsWith('ns.tasks.'));
    expect(workers.map((s) => [s.topic, s.options.group, s.options.maxInFlight])).toEqual([
      ['ns.tasks.text.echo', 'agents.text.echo', 64],
      ['ns.tasks.text.loud', 'agents.text.loud', 64],
    ]);
    expect(workers[0]!.options.retry).toEqual({ maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 30_000, jitter: 0.2 });
  });

  it('passes its retry and in-flight options to the workers', async () => {
    const { bus: b, spy } = bus({ maxInFlight: 3, retry: { maxAttempts: 2, jitter: 0 } });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const worker = spy.subscribed.find((s) => s.topic === 'ns.tasks.text.echo')!;
    expect(worker.options.maxInFlight).toBe(3);
    expect(worker.options.retry).toEqual({ maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 30_000, jitter: 0 });
  });

  it('refuses a card with a skill that has no handler, and a capability served twice', async () => {
    const { bus: b } = bus();
    const missing = await b.registerAgent(card('half', 'a', 'b', 'c'), { a: echo }).catch((e: unknown) => e);
    expect(TaskError.isInstance(missing)).toBe(true);
    expect((missing as TaskError).state).toBe('rejected');
    expect((missing as Error).message).toContain('agent half has no handler for b, c');
    await b.registerAgent(card('one', 'dup'), { dup: echo });
    const twice = await b.registerAgent(card('two', 'dup'), { dup: echo }).catch((e: unknown) => e);
    expect(TaskError.isInstance(twice)).toBe(true);
    expect((twice as Error).message).toContain('capability dup is already served by this bus');
  });

  it('the heartbeat counts the tasks of the agent running now', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { bus: b, spy } = bus({ agentTtlMs: 300 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    await b.registerAgent(card('busy', 'x', 'y'), {
      x: async () => {
        started += 1;
        await gate;
      },
      y: async () => {
        started += 1;
        await gate;
      },
    });
    await b.registerAgent(card('idle', 'z'), { z: echo });
    const done = [b.dispatch('x', '1'), b.dispatch('y', '2')];
    await until('both tasks running', () => started === 2);
    vi.advanceTimersByTime(100);
    const beat = (name: string) =>
      spy.published.find((p) => p.envelope.headers?.[runtimeHeaders.type] === 'agent-heartbeat' && p.envelope.key.endsWith(`/${name}`))!;
    expect(beat('busy').envelope.headers?.[runtimeHeaders.inFlight]).toBe('2');
    expect(beat('idle').envelope.headers?.[runtimeHeaders.inFlight]).toBe('0');
    release();
    await Promise.all(done);
  });

  it('reports an agent that stopped heartbeating, once, to onError; a throwing hook is logged and ignored', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const T0 = Date.parse('2030-01-01T00:00:00.000Z');
    vi.setSystemTime(T0);
    const events: BusErrorEvent[] = [];
    const logger = recordingLogger();
    const { bus: b } = bus({
      agentTtlMs: 300,
      logger,
      onError: (event) => {
        events.push(event);
        throw new Error('hook broke');
      },
    });
    await b.start();
    // Another process announces an agent, then dies without a goodbye.
    await memory().publish(
      'ns.registry',
      createEnvelope({
        kind: 'agent-card',
        key: 'ghost/agent',
        payload: card('ghost', 'spooky'),
        headers: { [runtimeHeaders.type]: 'agent-up', [runtimeHeaders.instance]: 'ghost/agent' },
      }),
    );
    await until('the ghost in the registry', () => b.agents().length === 1);
    vi.setSystemTime(T0 + 301);
    vi.advanceTimersByTime(100);
    expect(events).toEqual([
      {
        kind: 'agent-lost',
        transport: 'runtime',
        topic: 'ns.registry',
        member: 'ghost/agent',
        message: 'agent ghost (ghost/agent) dropped out of the registry: no heartbeat for 300 ms',
      },
    ]);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      'agent ghost (ghost/agent) dropped out of the registry: no heartbeat for 300 ms',
      'onError hook threw; ignored',
    ]);
    vi.advanceTimersByTime(300);
    expect(events).toHaveLength(1);
  });

  it('a failed heartbeat is reported as heartbeat-failed', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const events: BusErrorEvent[] = [];
    const { bus: b, spy } = bus({ agentTtlMs: 300, onError: (event) => events.push(event) });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const failure = new Error('registry unavailable');
    spy.failPublish = (topic) => (topic === 'ns.registry' ? failure : undefined);
    vi.advanceTimersByTime(100);
    await until('the failure reported', () => events.length > 0);
    expect(events).toEqual([
      {
        kind: 'heartbeat-failed',
        transport: 'runtime',
        message: 'agent heartbeat failed; other buses may drop these agents',
        error: failure,
        topic: 'ns.registry',
      },
    ]);
    spy.failPublish = undefined;
  });
});

describe('AgentBus dispatch', () => {
  it('fails at once when no agent serves the capability, or waits for one when asked to enqueue', async () => {
    const caller = bus();
    const error = await caller.bus.dispatch('text.echo', 'hi').catch((e: unknown) => e);
    expect(NoAgentError.isInstance(error)).toBe(true);
    expect(caller.spy.published.filter((p) => p.topic.startsWith('ns.tasks'))).toEqual([]);
    const queued = caller.bus.dispatch('text.echo', 'later', { whenNoAgent: 'enqueue' });
    await until('the request on the task topic', () => caller.spy.published.some((p) => p.topic === 'ns.tasks.text.echo'));
    const worker = bus();
    await worker.bus.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    expect(resultText(await queued)).toBe('echo:later');
    const explicit = await caller.bus.dispatch('text.none', 'hi', { whenNoAgent: 'fail' }).catch((e: unknown) => e);
    expect(NoAgentError.isInstance(explicit)).toBe(true);
  });

  it('a signal aborted before dispatch: canceled at once, nothing sent', async () => {
    const { bus: b, spy } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const before = spy.published.length;
    const error = (await b.dispatch('text.echo', 'x', { signal: AbortSignal.abort(), taskId: 'tid' }).catch((e: unknown) => e)) as TaskError;
    expect(TaskError.isInstance(error)).toBe(true);
    expect(error.taskId).toBe('tid');
    expect(error.state).toBe('canceled');
    expect(error.message).toContain('canceled by the caller before dispatch');
    const anonymous = (await b.dispatch('text.echo', 'x', { signal: AbortSignal.abort() }).catch((e: unknown) => e)) as TaskError;
    expect(anonymous.taskId).toBe('-');
    expect(spy.published.length).toBe(before);
  });

  it('sends the request keyed by workflow, correlated by task, replying to the namespace, with a deadline and the app headers', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2030-01-01T00:00:00.000Z'));
    const seen: Array<Record<string, string>> = [];
    const { bus: b, spy } = bus({ instanceId: 'caller', timeoutMs: 7_000 });
    await b.registerAgent(card('echo', 'text.echo'), {
      'text.echo': (ctx) => {
        seen.push({ ...ctx.headers });
        return echo(ctx);
      },
    });
    const task = await b.dispatch('text.echo', userText('hi', { messageId: 'mid' }), {
      workflowId: 'wf-1',
      taskId: 'task-1',
      timeoutMs: 2_500,
      headers: { tenant: 't1', [runtimeHeaders.type]: 'spoofed' },
    });
    expect(task.id).toBe('task-1');
    expect(task.contextId).toBe('wf-1');
    const sent = spy.published.filter((p) => p.topic === 'ns.tasks.text.echo');
    expect(sent).toHaveLength(1);
    const request = sent[0]!.envelope;
    expect(request).toMatchObject({
      kind: 'message',
      key: 'wf-1',
      correlationId: 'task-1',
      replyTo: 'ns.replies',
      sender: 'caller',
      deadline: '2030-01-01T00:00:02.500Z',
    });
    expect(request.payload).toEqual({ messageId: 'mid', role: 'ROLE_USER', parts: [{ text: 'hi' }], taskId: 'task-1', contextId: 'wf-1' });
    const headers = {
      tenant: 't1',
      [runtimeHeaders.type]: 'task-request',
      [runtimeHeaders.capability]: 'text.echo',
      [runtimeHeaders.taskId]: 'task-1',
      // dispatch() waits for the result only: the worker sends it the final task only.
      [runtimeHeaders.replies]: 'final',
    };
    expect(request.headers).toEqual(headers);
    expect(seen).toEqual([headers]);
    // The default timeout when none is given.
    await b.dispatch('text.echo', 'again', { taskId: 'task-2' });
    const second = spy.published.filter((p) => p.topic === 'ns.tasks.text.echo')[1]!.envelope;
    expect(second.deadline).toBe('2030-01-01T00:00:07.000Z');
    expect(second.key).not.toBe('wf-1');
    expect(second.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.payload).toMatchObject({ role: 'ROLE_USER', parts: [{ text: 'again' }], taskId: 'task-2', contextId: second.key });
  });

  it('new task and workflow ids unless given', async () => {
    const { bus: b, spy } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const a = await b.dispatch('text.echo', 'a');
    const c = await b.dispatch('text.echo', 'c');
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(c.id);
    expect(a.contextId).not.toBe(c.contextId);
    expect(a.contextId).not.toBe(a.id);
    const keys = spy.published.filter((p) => p.topic === 'ns.tasks.text.echo').map((p) => p.envelope.key);
    expect(keys).toEqual([a.contextId, c.contextId]);
  });

  it('streams the submitted task first, then the events, then the final task', async () => {
    const { bus: b } = bus();
    await b.registerAgent(card('echo', 'text.echo'), {
      'text.echo': async (ctx) => {
        await ctx.status('thinking');
        await ctx.artifact('part');
        return 'done';
      },
    });
    const events: A2AStreamResponse[] = [];
    for await (const event of b.dispatchStream('text.echo', 'go', { taskId: 'st', workflowId: 'wf' })) events.push(event);
    const kinds = events.map((e) => ('task' in e ? `task:${e.task.status.state}` : 'statusUpdate' in e ? 'status' : 'artifact'));
    expect(kinds).toEqual(['task:TASK_STATE_SUBMITTED', 'status', 'status', 'artifact', 'task:TASK_STATE_COMPLETED']);
    const submitted = (events[0] as { task: A2ATask }).task;
    expect(submitted).toMatchObject({ id: 'st', contextId: 'wf' });
    expect(submitted.history?.map((m) => textOfParts(m.parts))).toEqual(['go']);
    expect(submitted.history?.[0]).toMatchObject({ taskId: 'st', contextId: 'wf' });
  });

  it('the same task dispatched again while it runs gets the one answer', async () => {
    const { bus: b } = bus();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await b.registerAgent(card('once', 'text.once'), {
      'text.once': async () => {
        runs += 1;
        await gate;
        return `run ${runs}`;
      },
    });
    const first = b.dispatch('text.once', 'x', { taskId: 'same' });
    await until('the task running', () => runs === 1);
    const second = b.dispatch('text.once', 'x', { taskId: 'same' });
    release();
    const [a, c] = await Promise.all([first, second]);
    expect(a).toBe(c);
    expect(runs).toBe(1);
  });

  it('aborting the signal cancels: the caller fails at once and the handler is told', async () => {
    const { bus: b, spy } = bus();
    let aborted!: () => void;
    const handlerSawAbort = new Promise<void>((resolve) => (aborted = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await b.registerAgent(card('slow', 'text.slow'), {
      'text.slow': async (ctx) => {
        started();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted();
      },
    });
    const controller = new AbortController();
    const result = b.dispatch('text.slow', 'x', { signal: controller.signal, taskId: 'ab', workflowId: 'wf-ab' }).catch((e: unknown) => e);
    await running;
    controller.abort();
    const error = (await result) as TaskError;
    expect(TaskError.isInstance(error)).toBe(true);
    expect(error.state).toBe('canceled');
    expect(error.message).toContain('canceled by the caller');
    await handlerSawAbort;
    const cancels = spy.published.filter((p) => p.topic === 'ns.control');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.envelope.key).toBe('wf-ab');
    expect(cancels[0]!.envelope.headers).toEqual({ [runtimeHeaders.type]: 'cancel', [runtimeHeaders.taskId]: 'ab' });
  });

  it('a cancel that cannot be sent after an abort is logged, the caller still fails at once', async () => {
    const logger = recordingLogger();
    const { bus: b, spy } = bus({ logger });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await b.registerAgent(card('slow', 'text.slow'), {
      'text.slow': async () => {
        started();
        await gate;
      },
    });
    const failure = new Error('control down');
    spy.failPublish = (topic) => (topic === 'ns.control' ? failure : undefined);
    const controller = new AbortController();
    const result = b.dispatch('text.slow', 'x', { signal: controller.signal, taskId: 'cf' }).catch((e: unknown) => e);
    await running;
    controller.abort();
    expect(((await result) as TaskError).state).toBe('canceled');
    await until('the warning', () => logger.lines.some((l) => l.message === 'cancel failed'));
    expect(logger.lines.find((l) => l.message === 'cancel failed')).toEqual({
      level: 'warn',
      fields: { err: failure, taskId: 'cf' },
      message: 'cancel failed',
    });
    spy.failPublish = undefined;
    release();
  });

  it('a request naming a foreign reply topic is dead-lettered by the capability group, and nothing runs', async () => {
    const { bus: b } = bus();
    let runs = 0;
    await b.registerAgent(card('echo', 'text.echo'), {
      'text.echo': (ctx) => {
        runs += 1;
        return echo(ctx);
      },
    });
    await memory().publish('ns.tasks.text.echo', {
      kind: 'message',
      key: 'wf-f',
      payload: userText('x', { taskId: 'tf' }),
      replyTo: 'elsewhere.replies',
      headers: { [runtimeHeaders.type]: 'task-request', [runtimeHeaders.taskId]: 'tf' },
    });
    let dead: Envelope[] = [];
    await until('the dead letter', async () => {
      dead = await replayTopic('ns.tasks.text.echo.dlq');
      return dead.length > 0;
    });
    expect(dead[0]!.kind).toBe('dead-letter');
    expect(dead[0]!.payload).toMatchObject({ sourceTopic: 'ns.tasks.text.echo', group: 'agents.text.echo', reason: 'reply topic refused: elsewhere.replies' });
    expect(runs).toBe(0);
    expect(await replayTopic('elsewhere.replies')).toEqual([]);
  });

  it('a signal aborted after the task ended cancels nothing', async () => {
    const { bus: b, spy } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const controller = new AbortController();
    await b.dispatch('text.echo', 'x', { signal: controller.signal });
    // The dispatch stopped listening when it ended: a long-lived signal collects nothing.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    controller.abort();
    expect(spy.published.filter((p) => p.topic === 'ns.control')).toEqual([]);
  });

  it('a timeout fails the caller and asks the worker to cancel', async () => {
    const { bus: b, spy } = bus();
    let sawAbort!: () => void;
    const canceled = new Promise<void>((resolve) => (sawAbort = resolve));
    await b.registerAgent(card('slow', 'text.slow'), {
      'text.slow': async (ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        sawAbort();
      },
    });
    const error = (await b.dispatch('text.slow', 'x', { timeoutMs: 50, taskId: 'to', workflowId: 'wf-to' }).catch((e: unknown) => e)) as TaskTimeoutError;
    expect(TaskTimeoutError.isInstance(error)).toBe(true);
    expect(error.timeoutMs).toBe(50);
    await canceled;
    const cancel = spy.published.find((p) => p.topic === 'ns.control')!;
    expect(cancel.envelope.key).toBe('wf-to');
    expect(cancel.envelope.headers?.[runtimeHeaders.taskId]).toBe('to');
  });

  it('a request that could not be sent fails the dispatch with the error, and the task id is free again', async () => {
    const { bus: b, spy } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    const failure = new Error('publish refused');
    spy.failPublish = (topic) => (topic === 'ns.tasks.text.echo' ? failure : undefined);
    await expect(b.dispatch('text.echo', 'x', { taskId: 'nf' })).rejects.toBe(failure);
    spy.failPublish = undefined;
    expect(resultText(await b.dispatch('text.echo', 'x', { taskId: 'nf' }))).toBe('echo:x');
    expect(spy.published.filter((p) => p.topic === 'ns.control')).toEqual([]);
  });

  it('a handler dispatches child tasks in the same workflow, numbered under the parent task', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2030-01-01T00:00:00.000Z'));
    const { bus: b, spy } = bus();
    await b.registerAgent(card('child', 'text.child'), { 'text.child': echo });
    await b.registerAgent(card('parent', 'text.parent'), {
      'text.parent': async (ctx) => {
        const one = await ctx.dispatch('text.child', 'one', { timeoutMs: 3_000 });
        const two = await ctx.dispatch('text.child', 'two');
        return `${resultText(one)}+${resultText(two)}`;
      },
    });
    const task = await b.dispatch('text.parent', 'go', { taskId: 'p', workflowId: 'wf-p' });
    expect(resultText(task)).toBe('echo:one+echo:two');
    const children = spy.published.filter((p) => p.topic === 'ns.tasks.text.child').map((p) => p.envelope);
    expect(children.map((c) => [c.key, c.correlationId, c.deadline])).toEqual([
      ['wf-p', 'p/1', '2030-01-01T00:00:03.000Z'],
      ['wf-p', 'p/2', '2030-01-01T00:00:05.000Z'],
    ]);
  });

  it('cancel() asks every bus; the worker running the task aborts it; other control records are ignored', async () => {
    const worker = bus();
    const cancels = vi.spyOn(CapabilityWorker.prototype, 'cancel');
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    await worker.bus.registerAgent(card('slow', 'text.slow'), {
      'text.slow': async (ctx) => {
        started();
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      },
    });
    const caller = bus();
    await caller.bus.start();
    await until('the agent in the registry', () => caller.bus.agents().length === 1);
    const result = caller.bus.dispatch('text.slow', 'x', { taskId: 'ct' }).catch((e: unknown) => e);
    await running;
    const control = memory();
    await control.publish('ns.control', { kind: 'message', key: 'ct', payload: userText('noise'), headers: { [runtimeHeaders.taskId]: 'ct' } });
    await control.publish('ns.control', { kind: 'message', key: 'ct', payload: userText('noise'), headers: { [runtimeHeaders.type]: 'cancel' } });
    await caller.bus.cancel('ct');
    const error = (await result) as TaskError;
    expect(error.state).toBe('canceled');
    expect(cancels.mock.calls).toEqual([['ct']]);
    cancels.mockRestore();
    const sent = caller.spy.published.find((p) => p.topic === 'ns.control')!;
    expect(sent.envelope.key).toBe('ct');
    expect(sent.envelope.kind).toBe('message');
    expect(textOfParts((sent.envelope.payload as A2AMessage).parts)).toBe('cancel ct');
  });
});

describe('AgentBus audit', () => {
  it('records the request before its events, every event with capability, task and attempt; replays one workflow', async () => {
    const { bus: b } = bus();
    let attempts = 0;
    await b.registerAgent(card('flaky', 'text.flaky'), {
      'text.flaky': async (ctx) => {
        attempts += 1;
        if (ctx.attempt === 1) throw new Error('first try fails');
        await ctx.status('second try');
        return 'ok';
      },
    });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    await b.dispatch('text.flaky', 'x', { workflowId: 'wf-a', taskId: 'ta' });
    await b.dispatch('text.echo', 'other workflow', { workflowId: 'wf-b', taskId: 'tb' });
    expect(attempts).toBe(2);
    const trail = await b.audit('wf-a');
    expect(trail.map((e) => [e.type, e.taskId, e.capability, e.attempt])).toEqual([
      ['task-request', 'ta', 'text.flaky', undefined],
      ['task-event', 'ta', 'text.flaky', 1],
      ['task-event', 'ta', 'text.flaky', undefined],
      ['task-event', 'ta', 'text.flaky', 2],
      ['task-event', 'ta', 'text.flaky', undefined],
      ['task-event', 'ta', 'text.flaky', undefined],
    ]);
    expect(trail[2]!.envelope.headers?.[runtimeHeaders.attemptEnd]).toBe('retry');
    expect(trail.every((e) => e.at === e.envelope.createdAt && e.signer === undefined && e.verified === false)).toBe(true);
    expect(trail.some((e) => 'attempt' in e && e.attempt === undefined)).toBe(false);
    expect(trail.some((e) => 'servedFrom' in e || e.interrupted)).toBe(false);
    // Every audit record is a copy under an id of its own.
    expect(new Set(trail.map((e) => e.envelope.id)).size).toBe(trail.length);
    const event = trail[1]!.envelope;
    expect(event.kind).toBe('stream-response');
    expect(event.key).toBe('wf-a');
    expect(event.correlationId).toBe('ta');
    expect(event.sender).toBe(b.instanceId);
    expect(event.headers).toEqual({
      [runtimeHeaders.type]: 'task-event',
      [runtimeHeaders.capability]: 'text.flaky',
      [runtimeHeaders.taskId]: 'ta',
      [runtimeHeaders.attempt]: '1',
    });
  });

  it('a duplicate answered from the store is marked served-from; a record written twice shows once', async () => {
    const { bus: b } = bus();
    let runs = 0;
    await b.registerAgent(card('echo', 'text.echo'), {
      'text.echo': (ctx) => {
        runs += 1;
        return echo(ctx);
      },
    });
    await b.dispatch('text.echo', 'x', { workflowId: 'wf-d', taskId: 'td' });
    await b.dispatch('text.echo', 'x', { workflowId: 'wf-d', taskId: 'td' });
    expect(runs).toBe(1);
    const writer = memory();
    const [first] = await replayTopic('ns.workflows');
    await writer.publish('ns.workflows', first!);
    const trail = await b.audit('wf-d');
    expect(trail.filter((e) => e.envelope.id === first!.id)).toHaveLength(1);
    const served = trail.filter((e) => e.servedFrom === 'idempotency-store');
    expect(served).toHaveLength(1);
    expect(served[0]!.envelope.headers?.[runtimeHeaders.servedFrom]).toBe('idempotency-store');
    expect(trail.filter((e) => e.type === 'task-request')).toHaveLength(2);
  });

  it('slots the dead letters of the workflow requests in, by time', async () => {
    const { bus: b } = bus({ retry: { maxAttempts: 1 } });
    await b.registerAgent(card('bad', 'text.bad'), {
      'text.bad': () => {
        throw new Error('always');
      },
    });
    const error = await b.dispatch('text.bad', 'x', { workflowId: 'wf-x', taskId: 'tx' }).catch((e: unknown) => e);
    expect(TaskError.isInstance(error)).toBe(true);
    let trail = await b.audit('wf-x');
    await until('the dead letter', async () => {
      trail = await b.audit('wf-x');
      return trail.some((e) => e.type === 'dead-letter');
    });
    const dead = trail.filter((e) => e.type === 'dead-letter');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.capability).toBe('text.bad');
    expect(dead[0]!.envelope.kind).toBe('dead-letter');
    expect(trail.at(-1)!.type).toBe('dead-letter');
    expect(trail.map((e) => e.type)).toEqual(['task-request', 'task-event', 'task-event', 'dead-letter']);
  });

  it('a workflow record without runtime headers counts as a task event of no known task', async () => {
    const { bus: b } = bus();
    await memory().publish('ns.workflows', { kind: 'message', key: 'wf-bare', payload: userText('bare') });
    const trail = await b.audit('wf-bare');
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({ type: 'task-event', taskId: undefined, capability: undefined, signer: undefined, verified: false });
    expect('attempt' in trail[0]!).toBe(false);
    expect('servedFrom' in trail[0]!).toBe(false);
    expect(await b.audit('wf-none')).toEqual([]);
  });

  it('with audit off nothing goes to the workflows topic', async () => {
    const { bus: b, spy } = bus({ audit: false });
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    expect(resultText(await b.dispatch('text.echo', 'x'))).toBe('echo:x');
    expect(spy.published.filter((p) => p.topic === 'ns.workflows')).toEqual([]);
    expect(spy.published.filter((p) => p.topic === 'ns.replies').length).toBeGreaterThan(1);
  });

  it('task events go to the reply topic after the audit record, never to a foreign reply topic', async () => {
    const { bus: b, spy } = bus();
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': echo });
    for await (const _event of b.dispatchStream('text.echo', 'x', { taskId: 'order' }));
    const events = spy.published.filter((p) => p.envelope.headers?.[runtimeHeaders.type] === 'task-event');
    const topics = events.map((p) => p.topic);
    expect(topics).toEqual(['ns.workflows', 'ns.replies', 'ns.workflows', 'ns.replies']);
    expect(events[1]!.envelope.kind).toBe('stream-response');
    expect(events[1]!.envelope.correlationId).toBe('order');
    // A caller that waits for the result only: every event in the trail, the final task alone to the caller.
    await b.dispatch('text.echo', 'x', { taskId: 'result-only' });
    const only = spy.published.filter((p) => p.envelope.headers?.[runtimeHeaders.type] === 'task-event' && p.envelope.correlationId === 'result-only');
    expect(only.map((p) => p.topic)).toEqual(['ns.workflows', 'ns.workflows', 'ns.replies']);
    expect(only[2]!.envelope.payload).toMatchObject({ task: { id: 'result-only', status: { state: 'TASK_STATE_COMPLETED' } } });
  });

  it('a caller that waits for the result only is sent the final task only; a stream is sent every event', async () => {
    const { bus: b, spy } = bus({ audit: false });
    await b.registerAgent(card('chatty', 'text.chatty'), {
      'text.chatty': async (ctx) => {
        await ctx.status('halfway');
        await ctx.artifact('part');
        return 'done';
      },
    });
    const toCaller = (taskId: string) =>
      spy.published.filter((p) => p.topic === 'ns.replies' && p.envelope.correlationId === taskId).map((p) => Object.keys(p.envelope.payload)[0]);
    const task = await b.dispatch('text.chatty', 'x', { taskId: 'plain' });
    expect(task.artifacts?.map((a) => textOfParts(a.parts))).toEqual(['part', 'done']);
    expect(toCaller('plain')).toEqual(['task']);
    const streamed: string[] = [];
    for await (const event of b.dispatchStream('text.chatty', 'x', { taskId: 'streamed' })) streamed.push(Object.keys(event)[0]!);
    expect(spy.published.find((p) => p.envelope.correlationId === 'streamed' && p.topic === 'ns.tasks.text.chatty')!.envelope.headers).not.toHaveProperty(
      runtimeHeaders.replies,
    );
    expect(toCaller('streamed')).toEqual(['statusUpdate', 'statusUpdate', 'artifactUpdate', 'task']);
    expect(streamed).toEqual(['task', 'statusUpdate', 'statusUpdate', 'artifactUpdate', 'task']);
  });
});
