import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { createNatsTransport } from '@a2a-bus/nats';
import { a2aInteropSuite } from './suite/interop-suite.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('NATS', hostname, Number(port || 4222));

if (skipReason) {
  skippedSuite('[nats] a2a-js interop', skipReason);
} else {
  a2aInteropSuite({
    name: 'nats',
    createTransport: () => createNatsTransport({ url, partitions: 4, streamPrefix: 'a2ajs', ackWaitMs: 2_000, leaseTtlMs: 2_000 }),
    transportUrl: url,
    timeoutMultiplier: 2,
  });
}
