import { commonTransportOptions } from '@a2a-bus/core/adapter';
import { z } from 'zod';

/** A stream/consumer/subject token: what NATS accepts everywhere. */
const safeToken = z.string().regex(/^[A-Za-z0-9-]+$/, 'letters, digits and dashes only');

export const natsTransportOptionsSchema = z
  .object({
    ...commonTransportOptions,
    /** Server URLs, e.g. `nats://127.0.0.1:4222`. `url` is the same as one server. */
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    url: z.string().min(1).optional(),
    user: z.string().optional(),
    pass: z.string().optional(),
    token: z.string().optional(),
    /** Connection name shown by the server's monitoring. */
    name: z.string().default('a2a-bus'),
    /** Prefix of every stream and subject a2a-bus creates. */
    streamPrefix: safeToken.default('a2a'),
    /** JetStream storage of topic streams. `memory` does not survive a server restart. */
    storage: z.enum(['file', 'memory']).default('file'),
    /** Window in which a repeated envelope id (`Nats-Msg-Id`) is dropped as a duplicate. */
    duplicateWindowMs: z.int().min(100).default(120_000),
    /** JetStream AckWait: an unacked delivery comes back after this (a dead member's messages too). */
    ackWaitMs: z.int().min(200).default(30_000),
    /**
     * JetStream MaxDeliver. Default -1 (unlimited): a2a-bus dead-letters after the retry
     * policy's `maxAttempts` itself; a finite value makes the server drop messages silently.
     */
    maxDeliver: z.int().min(-1).default(-1),
    /** A member silent this long is dead and loses its partitions. Members renew every third of it. */
    leaseTtlMs: z.int().min(300).default(10_000),
    /** Longest a pull request waits on an idle partition; also the longest a hand-over waits for it. */
    fetchExpiresMs: z.int().min(1_000).default(1_000),
    /** Time allowed for a JetStream API request or PubAck. */
    requestTimeoutMs: z.int().min(100).default(10_000),
  })
  .strict()
  .refine((o) => !(o.servers && o.url), { message: 'give `servers` or `url`, not both', path: ['url'] });

export type NatsTransportOptions = z.input<typeof natsTransportOptionsSchema>;
export type ResolvedNatsOptions = z.output<typeof natsTransportOptionsSchema>;

export const defaultNatsServer = 'nats://127.0.0.1:4222';

export function serverList(options: ResolvedNatsOptions): string[] {
  const given = options.servers ?? options.url ?? defaultNatsServer;
  return Array.isArray(given) ? given : given.split(',').map((s) => s.trim()).filter(Boolean);
}
