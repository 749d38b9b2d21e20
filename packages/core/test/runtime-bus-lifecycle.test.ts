import { describe, expect, it } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../../memory/src/index.js';
import type { EnvelopeInput } from '../src/envelope.js';
import { AgentBus, type AgentBusOptions, TaskError, TransportClosedError } from '../src/index.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import type { Transport } from '../src/transport.js';
import { card, useCleanup } from './support/runtime-fixtures.js';

const cleanup = useCleanup();

/** A memory transport whose publishes a case can watch (and act on) as they happen. */
function watched(onPublish: (topic: string, envelope: EnvelopeInput) => void = () => {}) {
  const inner = createMemoryTransport({ broker: new MemoryBroker(), partitions: 1 });
  cleanup.push(() => inner.close({ drainTimeoutMs: 100 }));
  const published: Array<{ topic: string; envelope: EnvelopeInput }> = [];
  const transport = Object.create(inner) as Transport;
  Object.assign(transport, {
    connect: () => inner.connect(),
    subscribe: (...args: Parameters<Transport['subscribe']>) => inner.subscribe(...args),
    replay: (...args: Parameters<Transport['replay']>) => inner.replay(...args),
    publish: (topic: string, envelope: EnvelopeInput) => {
      published.push({ topic, envelope });
      onPublish(topic, envelope);
      return inner.publish(topic, envelope);
    },
  });
  return { transport, published };
}

function bus(transport: Transport, extra: Partial<AgentBusOptions> = {}): AgentBus {
  const b = new AgentBus({ transport, namespace: 'ns', agentTtlMs: 3_000, timeoutMs: 5_000, ...extra });
  cleanup.push(() => b.close());
  return b;
}

describe('AgentBus lifecycle edges', () => {
  it('closed before its subscriptions are up: start fails as closed without sending the reply probe', async () => {
    const { transport, published } = watched();
    const b = bus(transport);
    const starting = b.start();
    const closing = b.close();
    expect(TransportClosedError.isInstance(await starting.catch((e: unknown) => e))).toBe(true);
    await closing;
    expect(published.filter((p) => p.topic === 'ns.replies')).toEqual([]);
  });

  it('closed while the reply probe is out: start fails as closed', async () => {
    let b!: AgentBus;
    let closing: Promise<void> | undefined;
    const { transport } = watched((topic, envelope) => {
      if (topic === 'ns.replies' && envelope.headers?.[runtimeHeaders.type] === 'reply-probe') closing ??= b.close();
    });
    b = bus(transport);
    const error = await b.start().catch((e: unknown) => e);
    expect(TransportClosedError.isInstance(error)).toBe(true);
    await closing;
  });

  it('after close, registering a card is refused as closed before its handlers are looked at', async () => {
    const { transport } = watched();
    const b = bus(transport);
    await b.start();
    await b.close();
    const error = await b.registerAgent(card('half', 'a', 'b'), { a: () => 'x' }).catch((e: unknown) => e);
    expect(TransportClosedError.isInstance(error)).toBe(true);
    expect(TaskError.isInstance(error)).toBe(false);
  });

  it('option errors name the runtime', () => {
    const { transport } = watched();
    const message = (() => {
      try {
        new AgentBus({ transport, agentTtlMs: 1 });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('[runtime]');
    expect(message).toContain('agentTtlMs');
  });
});
