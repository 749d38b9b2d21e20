import { AgentBus, MemoryIdempotencyStore, textOfParts, type Transport } from '@a2a-bus/core';

/**
 * The soak's worker: `soak.echo` answers after a short wait. Its idempotency store keeps the
 * last 1,000 answers (the default keeps 100,000: hours of soak load, whose growth would read
 * as a leak), so it is full within the first minute, which the slopes leave out.
 */
export async function startEchoWorker(transport: Transport, namespace: string): Promise<AgentBus> {
  const bus = new AgentBus({ transport, namespace, agentTtlMs: 3_000, idempotencyStore: new MemoryIdempotencyStore(1_000) });
  await bus.registerAgent(
    { name: 'soak-echo', description: 'echoes after a short wait', version: '1.0.0', skills: [{ id: 'soak.echo', name: 'echo', tags: [] }] },
    {
      'soak.echo': async (task) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return textOfParts(task.message.parts);
      },
    },
  );
  return bus;
}
