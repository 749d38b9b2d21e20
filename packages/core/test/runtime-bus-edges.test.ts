import { describe, expect, it } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../../memory/src/index.js';
import { AgentBus, type AgentBusOptions, TaskError, TransportClosedError } from '../src/index.js';
import { textOfParts } from '../src/runtime/a2a.js';
import type { TaskHandler } from '../src/runtime/worker.js';
import type { SubscribeOptions, Subscription, Transport } from '../src/transport.js';
import { card, useCleanup } from './support/runtime-fixtures.js';

const echo: TaskHandler = (ctx) => `echo:${textOfParts(ctx.message.parts)}`;

const cleanup = useCleanup();

interface Watched {
  readonly transport: Transport;
  readonly inner: Transport;
  readonly subscriptions: Array<{ topic: string; closed: () => boolean }>;
}

/** A memory transport that tells which subscriptions were made and closed; `onSubscribe` runs as one is asked for. */
function watched(onSubscribe: (topic: string, options: SubscribeOptions) => void = () => {}, broker = new MemoryBroker()): Watched {
  const inner = createMemoryTransport({ broker, partitions: 2 });
  cleanup.push(() => inner.close({ drainTimeoutMs: 100 }));
  const subscriptions: Watched['subscriptions'] = [];
  const transport = Object.create(inner) as Transport;
  Object.assign(transport, {
    connect: () => inner.connect(),
    publish: (...args: Parameters<Transport['publish']>) => inner.publish(...args),
    replay: (...args: Parameters<Transport['replay']>) => inner.replay(...args),
    subscribe: async (...args: Parameters<Transport['subscribe']>): Promise<Subscription> => {
      onSubscribe(args[0], args[2]);
      const subscription = await inner.subscribe(...args);
      let closed = false;
      subscriptions.push({ topic: args[0], closed: () => closed });
      return Object.assign(Object.create(subscription) as Subscription, {
        close: (...closeArgs: Parameters<Subscription['close']>) => {
          closed = true;
          return subscription.close(...closeArgs);
        },
      });
    },
  });
  return { transport, inner, subscriptions };
}

function bus(transport: Transport, extra: Partial<AgentBusOptions> = {}): AgentBus {
  const b = new AgentBus({ transport, namespace: 'ns', agentTtlMs: 3_000, timeoutMs: 5_000, ...extra });
  cleanup.push(() => b.close());
  return b;
}

describe('AgentBus: errors name no task', () => {
  it('refusals of agents are rejected TaskErrors of task "-"', async () => {
    const b = bus(watched().transport);
    const missing = (await b.registerAgent(card('half', 'a', 'b'), { a: echo }).catch((e: unknown) => e)) as TaskError;
    expect(TaskError.isInstance(missing)).toBe(true);
    expect([missing.taskId, missing.state]).toEqual(['-', 'rejected']);
    await b.registerAgent(card('one', 'dup'), { dup: echo });
    const twice = (await b.registerAgent(card('two', 'dup'), { dup: echo }).catch((e: unknown) => e)) as TaskError;
    expect(TaskError.isInstance(twice)).toBe(true);
    expect([twice.taskId, twice.state]).toEqual(['-', 'rejected']);
  });

  it('dispatches failed by the close are canceled TaskErrors of task "-"', async () => {
    const broker = new MemoryBroker();
    const worker = bus(watched(undefined, broker).transport);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await worker.registerAgent(card('slow', 'slow'), {
      slow: async () => {
        started();
        await gate;
      },
    });
    const b = bus(watched(undefined, broker).transport);
    await b.start();
    const result = b.dispatch('slow', 'x', { taskId: 'mine', whenNoAgent: 'enqueue' }).catch((e: unknown) => e);
    await running;
    await b.close();
    release();
    const error = (await result) as TaskError;
    expect(TaskError.isInstance(error)).toBe(true);
    expect([error.taskId, error.state]).toEqual(['-', 'canceled']);
  });
});

describe('AgentBus: close', () => {
  it('a bus never started closes at once', async () => {
    const w = watched();
    const b = new AgentBus({ transport: w.transport, namespace: 'ns' });
    await expect(b.close()).resolves.toBeUndefined();
    expect(w.subscriptions).toEqual([]);
  });

  it('closes the workers subscriptions with the others', async () => {
    const w = watched();
    const b = bus(w.transport);
    await b.registerAgent(card('two', 'x', 'y'), { x: echo, y: echo });
    expect(w.subscriptions.map((s) => s.topic).filter((t) => t.startsWith('ns.tasks.'))).toEqual(['ns.tasks.x', 'ns.tasks.y']);
    await b.close();
    expect(w.subscriptions.filter((s) => !s.closed())).toEqual([]);
  });

  it('closed while an agent is being registered: the registration fails as closed and serves nothing more', async () => {
    let b!: AgentBus;
    let closing: Promise<void> | undefined;
    const w = watched((topic) => {
      if (topic === 'ns.tasks.x') closing ??= b.close();
    });
    b = bus(w.transport);
    await b.start();
    const error = await b.registerAgent(card('two', 'x', 'y'), { x: echo, y: echo }).catch((e: unknown) => e);
    expect(TransportClosedError.isInstance(error)).toBe(true);
    await closing;
    expect(w.subscriptions.map((s) => s.topic)).not.toContain('ns.tasks.y');
  });
});

describe('AgentBus: audit reads only the workflow asked for', () => {
  it('dead letters of other workflows and undecodable records stay out', async () => {
    const w = watched();
    const b = bus(w.transport, { retry: { maxAttempts: 1 } });
    await b.registerAgent(card('bad', 'bad'), {
      bad: () => {
        throw new Error('always');
      },
    });
    await b.dispatch('bad', 'x', { workflowId: 'wf-1', taskId: 't1' }).catch(() => {});
    await b.dispatch('bad', 'y', { workflowId: 'wf-2', taskId: 't2' }).catch(() => {});
    await w.inner.publishRaw('ns.tasks.bad.dlq', { key: 'wf-1', value: new TextEncoder().encode('not an envelope') });
    const deadLettersOf = async (workflowId: string): Promise<string[]> => {
      for (;;) {
        const trail = await b.audit(workflowId);
        const dead = trail.filter((e) => e.type === 'dead-letter');
        if (dead.length > 0) return dead.map((e) => e.envelope.key);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    expect(await deadLettersOf('wf-2')).toEqual(['wf-2']);
    expect(await deadLettersOf('wf-1')).toEqual(['wf-1']);
  });
});
