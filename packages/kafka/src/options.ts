import { InvalidOptionsError } from '@a2a-bus/core';
import { brokerRetentionSchema, commonTransportOptions, parseOptions } from '@a2a-bus/core/adapter';
import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';

const hostPort = z.string().regex(/^[^\s,:/]+:\d{1,5}$/, 'host:port');

const kafkaOptionsSchema = z
  .object({
    ...commonTransportOptions,
    /** Bootstrap brokers, `host:port`. Default `127.0.0.1:19092` (the broker of `scripts/kafka/broker.sh`). */
    brokers: z.array(hostPort).min(1).default(['127.0.0.1:19092']),
    /**
     * `kafka://host:port,host2:port`; sets `brokers` when `brokers` is not given.
     * `kafka+ssl://user:password@host:port` also turns on TLS and, with credentials, SASL
     * SCRAM-SHA-512 (unless `ssl` / `sasl` are given).
     */
    url: z
      .string()
      .regex(/^kafka(\+ssl)?:\/\/[^/]+\/?$/i, 'kafka://host:port[,host:port...] or kafka+ssl://[user:password@]host:port')
      .optional(),
    clientId: z.string().min(1).default('a2a-bus'),
    /** Passed to kafkajs as is: `true` or Node TLS options. */
    ssl: z.union([z.boolean(), z.custom<ConnectionOptions>((value) => typeof value === 'object' && value !== null, 'TLS options')]).optional(),
    /** Passed to kafkajs as is: `{ mechanism: 'plain' | 'scram-sha-256' | ..., username, password }`. */
    sasl: z.custom<SASLOptions>((value) => typeof value === 'object' && value !== null && 'mechanism' in value, 'kafkajs SASL options').optional(),
    /** Replication factor of topics a2a-bus creates. Default: the broker's `default.replication.factor`. */
    replicationFactor: z.int().min(1).optional(),
    /**
     * Group session: a member silent this long is dropped and its partitions move. Bounds how
     * soon a dead member's work resumes (6 s, the broker's default minimum: recovery within
     * 10 s); a process stalled longer (GC, SIGSTOP) loses its partitions and is fenced.
     */
    sessionTimeoutMs: z.int().min(1_000).default(6_000),
    /** How often members heartbeat; well under `sessionTimeoutMs`. */
    heartbeatIntervalMs: z.int().min(100).default(1_000),
    /** How long a rebalance waits for members to rejoin (and so for their running handlers). */
    rebalanceTimeoutMs: z.int().min(1_000).default(60_000),
    /** Fetch long-poll: the broker answers as soon as data arrives, or after this. */
    maxWaitTimeMs: z.int().min(1).max(30_000).default(500),
    /** Bytes fetched per partition and request (kafkajs buffers at most this per partition). */
    maxBytesPerPartition: z.int().min(1_024).default(1_048_576),
    /** Committed offsets are flushed at most this often while a batch is in progress (and at its end). */
    commitIntervalMs: z.int().min(0).default(200),
    /**
     * Messages of one partition handed out past its oldest unsettled one. A Kafka commit
     * cannot pass a message still running (a stuck key, a long retry), so what is handled
     * behind it is tracked in memory until it settles; past this many the partition pauses
     * (other partitions go on) until the oldest settles. Bounds that memory and what a crash
     * would hand out again.
     */
    maxOutstandingPerPartition: z.int().min(1).default(10_000),
    /**
     * The Kafka consumer group id of an a2a-bus group on a topic. a2a-bus groups are per
     * topic; one Kafka group spanning topics would rebalance all of them on every join.
     * Default `<group>.<topic>`.
     */
    groupId: z
      .custom<(group: string, topic: string) => string>((value) => typeof value === 'function', 'a function (group, topic) => string')
      .default(() => (group: string, topic: string) => `${group}.${topic}`),
    /** How long one publish may retry before it rejects with `PublishError`. */
    publishTimeoutMs: z.int().min(100).default(30_000),
    /**
     * Age retention of the topics a2a-bus writes to: 7 days, the registry and control topics
     * 1 hour, the reply topic 1 day; `topics` sets one topic apart, `false` keeps all. Every
     * `intervalMs` (1 min) records past the age are deleted (DeleteRecords) up to the lowest
     * offset any consumer group committed, so nothing a group has not committed is deleted;
     * topics are created with `retention.ms` -1 for that.
     */
    retention: brokerRetentionSchema,
  })
  .strict()
  .superRefine((value, context) => {
    if (value.heartbeatIntervalMs >= value.sessionTimeoutMs) {
      context.addIssue({ code: 'custom', path: ['heartbeatIntervalMs'], message: 'must be lower than sessionTimeoutMs (about a third of it)' });
    }
  });

export type KafkaTransportOptions = z.input<typeof kafkaOptionsSchema>;
export type KafkaConfig = z.output<typeof kafkaOptionsSchema>;

export function parseKafkaOptions(options: unknown): KafkaConfig {
  const input = (options ?? {}) as Record<string, unknown>;
  const config = parseOptions('kafka', kafkaOptionsSchema, input);
  if (!config.url) return config;
  const { tls, username, password, hosts } = splitKafkaUrl(config.url);
  return {
    ...config,
    ...(input.brokers === undefined ? { brokers: brokersFromUrl(`kafka://${hosts}`) } : {}),
    ...(tls && config.ssl === undefined ? { ssl: true } : {}),
    ...(username !== undefined && password !== undefined && !config.sasl ? { sasl: { mechanism: 'scram-sha-512', username, password } } : {}),
  };
}

/** `kafka+ssl://user:password@h1:9093,h2:9093` → TLS on, the credentials, and `h1:9093,h2:9093`. */
function splitKafkaUrl(url: string): { tls: boolean; username?: string; password?: string; hosts: string } {
  const match = /^kafka(\+ssl)?:\/\/(?:([^@/]*)@)?(.*)$/i.exec(url);
  const [, ssl, credentials, hosts = ''] = match ?? [];
  if (credentials === undefined) return { tls: ssl !== undefined, hosts };
  const colon = credentials.indexOf(':');
  if (colon === -1) throw new InvalidOptionsError('kafka', 'url', 'credentials must be user:password');
  return {
    tls: ssl !== undefined,
    username: decodeURIComponent(credentials.slice(0, colon)),
    password: decodeURIComponent(credentials.slice(colon + 1)),
    hosts,
  };
}

/** `kafka://h1:9092,h2:9092` → `['h1:9092', 'h2:9092']`. */
export function brokersFromUrl(url: string): string[] {
  const brokers = url
    .replace(/^kafka:\/\//i, '')
    .replace(/\/+$/, '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  for (const broker of brokers) {
    if (!hostPort.safeParse(broker).success) throw new InvalidOptionsError('kafka', 'url', `"${broker}" is not host:port`);
  }
  if (brokers.length === 0) throw new InvalidOptionsError('kafka', 'url', 'names no broker');
  return brokers;
}
