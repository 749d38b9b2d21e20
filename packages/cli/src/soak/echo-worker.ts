import { AgentBus, textOfParts, type Transport } from '@a2a-bus/core';

/** The soak's worker: `soak.echo` answers after a short wait. */
export async function startEchoWorker(transport: Transport, namespace: string): Promise<AgentBus> {
  const bus = new AgentBus({ transport, namespace, agentTtlMs: 3_000 });
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
