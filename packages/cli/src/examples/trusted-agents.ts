import { AgentBus, createTransport, generateAgentKeys, textOfParts } from '@a2a-bus/core';

const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://trusted');

// Each agent instance has an Ed25519 key pair (kept in your secret store; generated here).
const workerKeys = generateAgentKeys();
const callerKeys = generateAgentKeys();
// Who may serve a capability, and who may dispatch to it, by public key.
const policy = { serve: { 'text.shout': [workerKeys.publicKey] }, dispatch: { 'text.shout': [callerKeys.publicKey] } };

const worker = new AgentBus({ transport, trust: { mode: 'enforce', keys: workerKeys, policy } });
await worker.registerAgent(
  { name: 'shouter', description: 'Upper-cases text', version: '1.0.0', skills: [{ id: 'text.shout', name: 'Shout', tags: [] }] },
  { 'text.shout': (task) => textOfParts(task.message.parts).toUpperCase() },
);

const caller = new AgentBus({ transport, trust: { mode: 'enforce', keys: callerKeys, policy } });
const task = await caller.dispatch('text.shout', 'signed and checked', { workflowId: 'trusted-1' });
console.log(task.status.state, textOfParts(task.artifacts![0]!.parts)); // TASK_STATE_COMPLETED SIGNED AND CHECKED

// Who signed each step, and whether the signature still verifies: the audit trail.
for (const step of await caller.audit('trusted-1')) {
  console.log(step.type, step.capability, step.signer === callerKeys.publicKey ? 'caller' : step.signer === workerKeys.publicKey ? 'worker' : step.signer, step.verified);
}

await caller.close();
await worker.close();
await transport.close();
