import { randomUUID } from 'node:crypto';
import { AgentBus, type BusErrorEvent } from '@a2a-bus/core';
import { createMemoryTransport } from '@a2a-bus/memory';
import { expect, it } from 'vitest';
import { waitFor } from './src/conformance/context.js';

it('[memory] a subscription closed by the ack-timeout watchdog is reported as subscription-closed', async () => {
  const errors: BusErrorEvent[] = [];
  const transport = createMemoryTransport({ name: `watchdog-${randomUUID()}`, ackTimeoutMs: 200, instrumentation: { onError: (e) => void errors.push(e) } });
  await transport.subscribe('slow', () => new Promise<void>(() => {}), { group: 'stuck' });
  await transport.publish('slow', { kind: 'message', key: 'k', payload: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x' }] } });
  await waitFor('the watchdog', () => errors.length > 0, 5_000);
  expect(errors[0]).toMatchObject({ kind: 'subscription-closed', transport: 'memory', topic: 'slow', group: 'stuck' });
  expect(errors[0]!.message).toContain('ack timeout');
  await transport.close({ drainTimeoutMs: 0 });
});

it('[memory] an agent that stops heartbeating is reported as agent-lost by the others; its own failed heartbeats as heartbeat-failed', async () => {
  const name = `dropout-${randomUUID()}`;
  const namespace = 'dropout';
  const seen: BusErrorEvent[] = [];
  const ownErrors: BusErrorEvent[] = [];
  const workerTransport = createMemoryTransport({ name });
  const observerTransport = createMemoryTransport({ name });
  const worker = new AgentBus({ transport: workerTransport, namespace, agentTtlMs: 300, onError: (e) => void ownErrors.push(e) });
  await worker.registerAgent({ name: 'fragile', description: 'dies', version: '1', skills: [{ id: 'x.y', name: 'x', tags: [] }] }, { 'x.y': () => 'ok' });
  const observer = new AgentBus({ transport: observerTransport, namespace, agentTtlMs: 300, onError: (e) => void seen.push(e) });
  await observer.start();
  await waitFor('the agent to be seen', () => observer.agents().length === 1, 5_000);
  // The worker's connection goes away without a goodbye (as when its process is killed).
  await workerTransport.close({ drainTimeoutMs: 0 });
  await waitFor('the dropout to be reported', () => seen.some((e) => e.kind === 'agent-lost'), 5_000);
  expect(seen.filter((e) => e.kind === 'agent-lost')).toEqual([
    expect.objectContaining({ transport: 'runtime', member: `${worker.instanceId}/fragile`, topic: `${namespace}.registry` }),
  ]);
  await waitFor('the failed heartbeat', () => ownErrors.some((e) => e.kind === 'heartbeat-failed'), 5_000);
  await new Promise((resolve) => setTimeout(resolve, 400));
  expect(seen.filter((e) => e.kind === 'agent-lost')).toHaveLength(1); // reported once
  await observer.close();
  await worker.close();
  await observerTransport.close();
});
