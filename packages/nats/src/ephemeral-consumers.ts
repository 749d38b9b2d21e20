import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsNames } from './names.js';

/**
 * How long the server keeps an ephemeral group's consumers once nobody pulls from them: its
 * process died without closing. Longer than a lease round trip (a live member pulls on every
 * partition it holds within a lease TTL), short enough that restarts leave nothing for long.
 */
export function ephemeralInactiveThresholdMs(leaseTtlMs: number): number {
  return Math.max(10_000, 3 * leaseTtlMs);
}

/** Removes an ephemeral group's consumers (its subscription closed). It has no lease records: its leases live in memory. */
export async function removeEphemeralGroup(jsm: JetStreamManager, names: NatsNames, stream: string, group: string, partitions: number): Promise<void> {
  await Promise.all(Array.from({ length: partitions }, (_, p) => jsm.consumers.delete(stream, names.durable(group, p)).catch(() => false)));
}
