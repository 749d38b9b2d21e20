import { randomUUID } from 'node:crypto';
import { createNatsTransport } from '@a2a-bus/nats';
import { afterAll } from 'vitest';
import { agentRuntimeSuite, requireBroker, skippedSuite } from './src/index.js';
import { deleteNatsStreams } from './src/servers/nats-streams.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));
// Every case makes a fresh namespace: this run's streams share a prefix and are deleted at the end.
const streamPrefix = `a2aruntime${randomUUID().slice(0, 6)}`;

if (skipReason) {
  skippedSuite('[nats] agent runtime', skipReason);
} else {
  afterAll(() => deleteNatsStreams(url, streamPrefix), 60_000);
  agentRuntimeSuite({
    name: 'nats',
    createTransport: () => createNatsTransport({ url, partitions: 4, streamPrefix, ackWaitMs: 2_000, leaseTtlMs: 2_000 }),
    timeoutMultiplier: 2,
    countsDeliveries: false, // see AgentSuiteOptions: an in-process close does not spend a NATS delivery
  });
}
