import { randomUUID } from 'node:crypto';
import { anomalyFaultSuite } from './src/fault-suite.js';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const keyPrefix = `a2a-anom-${randomUUID().slice(0, 8)}:`;

if (skipReason) skippedSuite('[redis-streams] anomaly detection', skipReason);
else
  anomalyFaultSuite({
    name: 'redis-streams',
    spec: () => ({
      backend: 'redis-streams',
      options: { url, keyPrefix, partitions: 4, leaseTtlMs: 3_000, claimMinIdleMs: 3_000, claimIntervalMs: 1_000, blockMs: 200 },
    }),
  });
