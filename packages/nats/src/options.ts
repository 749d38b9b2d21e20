import { brokerRetentionSchema, commonTransportOptions } from '@a2a-bus/core/adapter';
import { z } from 'zod';

/** A stream/consumer/subject token: what NATS accepts everywhere. */
const safeToken = z.string().regex(/^[A-Za-z0-9-]+$/, 'letters, digits and dashes only');

export const natsTransportOptionsSchema = z
  .object({
    ...commonTransportOptions,
    /**
     * Server URLs, e.g. `nats://127.0.0.1:4222`. `url` is the same as one server.
     * `tls://host:port` requires TLS; `nats://user:password@host:port` carries credentials
     * (taken out of the URL before it is used or shown anywhere).
     */
    servers: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    url: z.string().min(1).optional(),
    user: z.string().optional(),
    pass: z.string().optional(),
    token: z.string().optional(),
    /**
     * TLS options of the NATS client, PEM strings or file paths (`ca`/`caFile`, `cert`/`certFile`, `key`/`keyFile`,
     * `handshakeFirst`). Implies TLS; a `tls://` server URL alone uses the system's CAs.
     */
    tls: z
      .object({
        ca: z.string().optional(),
        caFile: z.string().optional(),
        cert: z.string().optional(),
        certFile: z.string().optional(),
        key: z.string().optional(),
        keyFile: z.string().optional(),
        handshakeFirst: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** Connection name shown by the server's monitoring. */
    name: z.string().default('a2a-bus'),
    /** Prefix of every stream and subject a2a-bus creates. */
    streamPrefix: safeToken.default('a2a'),
    /** JetStream storage of topic streams. `memory` does not survive a server restart. */
    storage: z.enum(['file', 'memory']).default('file'),
    /** Window in which a repeated envelope id (`Nats-Msg-Id`) is dropped as a duplicate. */
    duplicateWindowMs: z.int().min(100).default(120_000),
    /**
     * JetStream AckWait: an unacked delivery comes back after this (a dead member's messages
     * too, which the next owner of the partition waits for). Held messages are kept alive with
     * working() every third of it, so long handlers are unaffected; 5 s bounds recovery.
     */
    ackWaitMs: z.int().min(200).default(5_000),
    /**
     * JetStream MaxDeliver. Default -1 (unlimited): a2a-bus dead-letters after the retry
     * policy's `maxAttempts` itself; a finite value makes the server drop messages silently.
     */
    maxDeliver: z.int().min(-1).default(-1),
    /** A member silent this long is dead and loses its partitions. Members renew every third of it. */
    leaseTtlMs: z.int().min(300).default(5_000),
    /**
     * How long a pull request waits on a partition whose last pull had messages. On a
     * partition idle for a while each empty pull doubles it, up to half `leaseTtlMs` (never
     * below this): an idle member pulls less often. A new message ends an open pull at once.
     */
    fetchExpiresMs: z.int().min(1_000).default(1_000),
    /** Time allowed for a JetStream API request or PubAck. */
    requestTimeoutMs: z.int().min(100).default(10_000),
    /**
     * Age retention of the topic streams a2a-bus writes to: 7 days, the registry and control
     * streams 1 hour, the reply stream 1 day; `topics` sets one topic apart, `false` keeps
     * all. Every `intervalMs` (1 min) messages past the age are purged up to the lowest
     * sequence any consumer still needs (its ack floor, while it has anything pending), so
     * nothing a consumer has not acknowledged is deleted; streams get no `max_age` for that.
     * No count limit.
     */
    retention: brokerRetentionSchema,
  })
  .strict()
  .refine((o) => !(o.servers && o.url), { message: 'give `servers` or `url`, not both', path: ['url'] });

export type NatsTransportOptions = z.input<typeof natsTransportOptionsSchema>;
export type ResolvedNatsOptions = z.output<typeof natsTransportOptionsSchema>;

export const defaultNatsServer = 'nats://127.0.0.1:4222';

export function serverList(options: ResolvedNatsOptions): string[] {
  const given = options.servers ?? options.url ?? defaultNatsServer;
  return Array.isArray(given)
    ? given
    : given
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

/** Where to connect and how to log in: credentials out of the URLs, TLS when a URL says `tls://`. */
export interface NatsConnectTarget {
  /** Server URLs without credentials: safe to show. */
  readonly servers: string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly tls?: NonNullable<ResolvedNatsOptions['tls']>;
}

export function connectTarget(options: ResolvedNatsOptions): NatsConnectTarget {
  let user = options.user;
  let pass = options.pass;
  let token = options.token;
  let tlsScheme = false;
  const servers = serverList(options).map((server) => {
    const match = /^([a-z][a-z0-9+.-]*:\/\/)?(?:([^@/]*)@)?(.*)$/i.exec(server);
    if (!match) return server;
    const [, scheme = '', credentials, rest = ''] = match;
    if (/^tls:/i.test(scheme)) tlsScheme = true;
    if (credentials !== undefined) {
      const colon = credentials.indexOf(':');
      // `nats://token@host` is a token, `nats://user:pass@host` a user and password.
      if (colon === -1) token ??= decodeURIComponent(credentials);
      else {
        user ??= decodeURIComponent(credentials.slice(0, colon));
        pass ??= decodeURIComponent(credentials.slice(colon + 1));
      }
    }
    return `${scheme}${rest}`;
  });
  const tls = options.tls ?? (tlsScheme ? {} : undefined);
  return {
    servers,
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tls ? { tls } : {}),
  };
}
