import { randomUUID } from 'node:crypto';
import { anomalyFaultSuite } from './src/fault-suite.js';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { afterAll } from 'vitest';
// The workspace's test helpers (not part of the published conformance package).
import { deleteNatsStreams } from '../../../test/src/servers/nats-streams.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));
const streamPrefix = `anom${randomUUID().slice(0, 6)}`;

if (skipReason) skippedSuite('[nats] anomaly detection', skipReason);
else {
  afterAll(() => deleteNatsStreams(url, streamPrefix), 60_000);
  anomalyFaultSuite({ name: 'nats', spec: () => ({ backend: 'nats', options: { url, partitions: 4, streamPrefix, ackWaitMs: 2_000, leaseTtlMs: 2_000 } }) });
}
