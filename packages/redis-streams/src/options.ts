import { commonTransportOptions, parseOptions } from '@a2a-bus/core/adapter';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';

const redisUrl = z
  .string()
  .refine((value) => /^rediss?:\/\//i.test(value), 'a redis:// or rediss:// URL')
  .default('redis://127.0.0.1:6379');

export const redisStreamsOptionsSchema = z
  .object({
    ...commonTransportOptions,
    /** `redis://[user:password@]host:port[/db]`; `rediss://` for TLS. */
    url: redisUrl,
    /**
     * Node TLS options (`ca`, `cert`, `key`, `servername`, ...), e.g. the CA of a private
     * broker. Implies TLS; `rediss://` alone uses TLS with the system's CAs.
     */
    tls: z.custom<ConnectionOptions>((value) => typeof value === 'object' && value !== null, 'Node TLS options').optional(),
    /** Prefix of every key a2a-bus writes; topics live under `<prefix>{<topic>}:...`. */
    keyPrefix: z.string().default('a2a:'),
    /**
     * A member silent this long is dead and its partition leases lapse: bounds how soon a
     * dead member's work resumes (5 s: recovery within 10 s). A process stalled longer loses
     * its leases and is fenced.
     */
    leaseTtlMs: z.int().min(100).default(5_000),
    /** How often members heartbeat, renew leases and rebalance. Default: a third of `leaseTtlMs`. */
    rebalanceIntervalMs: z.int().min(10).optional(),
    /** An entry pending this long on a consumer that is not reading it is claimed by the partition owner. */
    claimMinIdleMs: z.int().min(0).default(30_000),
    /** How often the owner of a partition sweeps its pending entries for lost ones. */
    claimIntervalMs: z.int().min(10).default(5_000),
    /** How long one XREADGROUP blocks waiting for new entries. */
    blockMs: z.int().min(1).max(60_000).default(1_000),
    /** Entries fetched per XREADGROUP / XAUTOCLAIM at most (also bounded by `maxInFlight`). */
    readCount: z.int().min(1).max(10_000).default(256),
    /**
     * Retention, on by default: streams a2a-bus publishes to keep 7 days (like Kafka's
     * default), trimmed with MINID, never past the oldest entry still pending or not yet
     * delivered to any consumer group. It bounds how far `replay` and `audit()` reach back;
     * `false` keeps everything.
     */
    retention: z
      .union([
        z.literal(false),
        z.object({
          /** Keep about this many entries per partition. */
          maxLen: z.int().min(1).optional(),
          /** Keep entries younger than this. */
          maxAgeMs: z.int().min(1).optional(),
          /** How often to trim. */
          intervalMs: z.int().min(100).default(60_000),
        }),
      ])
      .default({ maxAgeMs: 7 * 86_400_000, intervalMs: 60_000 }),
  })
  .strict()
  .refine((options) => options.rebalanceIntervalMs === undefined || options.rebalanceIntervalMs < options.leaseTtlMs, {
    message: 'must be shorter than leaseTtlMs, or leases lapse between renewals',
    path: ['rebalanceIntervalMs'],
  });

export type RedisStreamsOptions = z.input<typeof redisStreamsOptionsSchema>;
export type ResolvedRedisStreamsOptions = z.output<typeof redisStreamsOptionsSchema>;

export function parseRedisStreamsOptions(input: unknown): ResolvedRedisStreamsOptions {
  return parseOptions('redis-streams', redisStreamsOptionsSchema, input);
}
