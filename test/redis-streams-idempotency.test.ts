import { randomUUID } from 'node:crypto';
import { AgentBus, textOfParts, type Transport } from '@a2a-bus/core';
import { createRedisIdempotencyStore, createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { afterEach, expect, it } from 'vitest';
import { requireBroker, skippedSuite } from './src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skipReason = await requireBroker('Redis', new URL(url).hostname, Number(new URL(url).port || 6379));
const keyPrefix = `a2a-idem-${randomUUID().slice(0, 8)}:`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

if (skipReason) skippedSuite('[redis-streams] shared idempotency store', skipReason);
else {
  it('[redis-streams] a task finished by a worker that then died is answered from the shared store by another, not run again', async () => {
    const namespace = `idem-${randomUUID().slice(0, 8)}`;
    const store = createRedisIdempotencyStore({ url, keyPrefix: `${keyPrefix}done:`, ttlMs: 60_000 });
    cleanups.push(() => store.close());
    const runs: string[] = [];
    const worker = async (name: string): Promise<AgentBus> => {
      const transport: Transport = createRedisStreamsTransport({ url, keyPrefix, partitions: 2, leaseTtlMs: 2_000, blockMs: 200 });
      const bus = new AgentBus({ transport, namespace, idempotencyStore: store, agentTtlMs: 2_000 });
      cleanups.push(
        () => transport.close({ drainTimeoutMs: 500 }),
        () => bus.close(),
      );
      await bus.registerAgent(
        { name: 'once', description: 'runs once', version: '1.0.0', skills: [{ id: 'charge', name: 'charge', tags: [] }] },
        {
          charge: (ctx) => {
            runs.push(`${name}:${ctx.taskId}`);
            return `charged ${textOfParts(ctx.message.parts)}`;
          },
        },
      );
      return bus;
    };
    const first = await worker('first');
    const callerTransport = createRedisStreamsTransport({ url, keyPrefix, partitions: 2, leaseTtlMs: 2_000, blockMs: 200 });
    const caller = new AgentBus({ transport: callerTransport, namespace, agentTtlMs: 2_000 });
    cleanups.push(
      () => callerTransport.close({ drainTimeoutMs: 500 }),
      () => caller.close(),
    );
    const taskId = randomUUID();
    const done = await caller.dispatch('charge', '10 EUR', { taskId, workflowId: `wf-${taskId}`, whenNoAgent: 'enqueue' });
    expect(done.status.state).toBe('TASK_STATE_COMPLETED');
    await first.close();
    await worker('second');
    // The same request delivered again (a redelivery after the first worker's crash looks the same).
    const again = await caller.dispatch('charge', '10 EUR', { taskId, workflowId: `wf-${taskId}`, whenNoAgent: 'enqueue' });
    expect(again.status.state).toBe('TASK_STATE_COMPLETED');
    expect(textOfParts(again.artifacts![0]!.parts)).toBe('charged 10 EUR');
    expect(runs).toEqual([`first:${taskId}`]);
  }, 60_000);
}
