import { AgentBus, createTransport, textOfParts } from '@a2a-bus/core';

// memory:// needs @a2a-bus/memory; redis://, kafka:// and nats:// need their adapter package.
const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://app');

const worker = new AgentBus({ transport });
await worker.registerAgent(
  { name: 'echo', description: 'Echoes text', version: '1.0.0', skills: [{ id: 'text.echo', name: 'Echo', tags: [] }] },
  { 'text.echo': (task) => `echo: ${textOfParts(task.message.parts)}` },
);

const caller = new AgentBus({ transport });
const task = await caller.dispatch('text.echo', 'hello from plain node', { workflowId: `app-${Date.now()}` });
console.log(task.status.state, textOfParts(task.artifacts[0].parts));

await caller.close();
await worker.close();
await transport.close();
