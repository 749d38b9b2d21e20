import { AgentBus, textOfParts } from '@a2a-bus/core';
import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Long-lived structures of the agent runtime stay bounded: a worker remembers cancels of tasks
 * it has not seen (they may arrive before the task) only up to 10 000, oldest forgotten first.
 */
const buses: AgentBus[] = [];
afterEach(async () => {
  await Promise.allSettled(buses.splice(0).map((bus) => bus.close()));
});

describe('runtime bounds (memory transport)', () => {
  it('cancels of tasks never seen are remembered up to 10 000, the oldest forgotten first', async () => {
    const broker = new MemoryBroker();
    const namespace = 'bounds';
    const worker = new AgentBus({ transport: createMemoryTransport({ broker, partitions: 4 }), namespace });
    const caller = new AgentBus({ transport: createMemoryTransport({ broker, partitions: 4 }), namespace });
    buses.push(worker, caller);
    const ran: string[] = [];
    await worker.registerAgent(
      { name: 'echo', description: 'echo', version: '1.0.0', skills: [{ id: 'bounds.echo', name: 'echo', tags: [] }] },
      {
        'bounds.echo': (task) => {
          ran.push(task.taskId);
          return textOfParts(task.message.parts);
        },
      },
    );
    await caller.start();
    // All on one workflow key: the control topic delivers them in this order.
    for (let i = 0; i <= 10_000; i += 1) await caller.cancel(`c-${i}`, 'wf-bounds');
    const newest = await caller.dispatch('bounds.echo', 'newest', { taskId: 'c-10000', workflowId: 'wf-bounds' }).catch((e: unknown) => e);
    expect((newest as { state?: string }).state).toBe('canceled'); // remembered, so every cancel before it arrived too
    const kept = await caller.dispatch('bounds.echo', 'kept', { taskId: 'c-1', workflowId: 'wf-bounds' }).catch((e: unknown) => e);
    expect((kept as { state?: string }).state).toBe('canceled'); // the oldest of the 10 000 kept
    const forgotten = await caller.dispatch('bounds.echo', 'forgotten', { taskId: 'c-0', workflowId: 'wf-bounds' });
    expect(textOfParts(forgotten.artifacts![0]!.parts)).toBe('forgotten'); // beyond the bound: runs
    expect(ran).toEqual(['c-0']);
  }, 60_000);
});
