import { createNatsTransport } from '@a2a-bus/nats';
import { agentRuntimeSuite, requireBroker, skippedSuite } from './src/index.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));

if (skipReason) {
  skippedSuite('[nats] agent runtime', skipReason);
} else {
  agentRuntimeSuite({
    name: 'nats',
    createTransport: () => createNatsTransport({ url, partitions: 4, streamPrefix: 'a2aruntime', ackWaitMs: 2_000, leaseTtlMs: 2_000 }),
    timeoutMultiplier: 2,
    countsDeliveries: false, // see AgentSuiteOptions: an in-process close does not spend a NATS delivery
  });
}
