import { randomUUID } from 'node:crypto';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { createNatsTransport } from '@a2a-bus/nats';
import { afterAll } from 'vitest';
// The workspace's test helpers (not part of the published conformance package).
import { deleteNatsStreams } from '../../../test/src/servers/nats-streams.js';
import { a2aInteropSuite } from './suite/interop-suite.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));
// Every case makes a fresh namespace: this run's streams share a prefix and are deleted at the end.
const streamPrefix = `a2ajs${randomUUID().slice(0, 6)}`;

if (skipReason) {
  skippedSuite('[nats] a2a-js interop', skipReason);
} else {
  afterAll(() => deleteNatsStreams(url, streamPrefix), 60_000);
  a2aInteropSuite({
    name: 'nats',
    createTransport: () => createNatsTransport({ url, partitions: 4, streamPrefix, ackWaitMs: 2_000, leaseTtlMs: 2_000 }),
    transportUrl: url,
    timeoutMultiplier: 2,
  });
}
