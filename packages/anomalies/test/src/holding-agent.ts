/**
 * A separate OS process serving one capability whose handler never finishes: it holds its
 * task until it is killed. Prints `ready <bus instance id>` once registered.
 * argv: <transport spec JSON> <namespace> <capability> <agentTtlMs>
 */
import { AgentBus } from '@a2a-bus/core';
import { buildTransport, type TransportSpec } from './transports.js';

const [specJson, namespace, capability, ttl] = process.argv.slice(2);
const transport = buildTransport(JSON.parse(specJson!) as TransportSpec);
const bus = new AgentBus({ transport, namespace: namespace!, agentTtlMs: Number(ttl) });
await bus.registerAgent(
  { name: 'holder', description: 'holds its work', version: '1.0.0', skills: [{ id: capability!, name: capability!, tags: [] }] },
  { [capability!]: ({ signal }) => new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('abandoned'))) },
);
process.stdout.write(`ready ${bus.instanceId}\n`);
setInterval(() => {}, 60_000);
