import { AgentBus, createTransport, textOfParts } from '@a2a-bus/core';

// The backend is configuration: memory:// here; kafka://, redis:// or nats:// in production.
const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://hello');

// A worker process: an A2A AgentCard whose skills are the capabilities it serves.
const worker = new AgentBus({ transport });
await worker.registerAgent(
  { name: 'shouter', description: 'Upper-cases text', version: '1.0.0', skills: [{ id: 'text.shout', name: 'Shout', tags: [] }] },
  { 'text.shout': (task) => textOfParts(task.message.parts).toUpperCase() },
);

// A caller: dispatch by capability, get the completed A2A Task back.
const caller = new AgentBus({ transport });
const task = await caller.dispatch('text.shout', 'hello, agents', { workflowId: 'greeting-1' });
console.log(task.status.state, textOfParts(task.artifacts![0]!.parts)); // TASK_STATE_COMPLETED HELLO, AGENTS

// Everything that happened to the workflow, replayed from the log.
for (const step of await caller.audit('greeting-1')) console.log(step.type, step.capability);

await caller.close();
await worker.close();
await transport.close();
