import { z } from 'zod';
import { runtimeTopics } from './runtime/topics.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const topicRetentionSchema = z
  .object({
    /** Records older than this are deleted once every group reading the topic has acknowledged them. */
    maxAgeMs: z.int().min(1_000),
  })
  .strict();

/** Retention of one topic as the broker applies it; `false` keeps everything. */
export type TopicRetention = z.output<typeof topicRetentionSchema> | false;

/** Which runtime topic a name is, by the runtime's naming scheme (`<ns>.registry`, ...). */
export type RuntimeTopicRole = 'registry' | 'control' | 'replies';

/**
 * Defaults. Topics in general keep 7 days (Kafka's default). The runtime's own topics need
 * far less: a bus reads the registry back one agent TTL (15 s by default) and control and
 * replies only live, so an hour (a day for replies) is a generous upper bound.
 */
export const DEFAULT_BROKER_RETENTION = {
  maxAgeMs: 7 * DAY_MS,
  intervalMs: 60_000,
  registry: { maxAgeMs: HOUR_MS },
  control: { maxAgeMs: HOUR_MS },
  replies: { maxAgeMs: DAY_MS },
} as const;

const roleRetention = z.union([z.literal(false), topicRetentionSchema]);

/**
 * Retention of the topics (Kafka topics, NATS streams) an adapter writes to, by age: every
 * `intervalMs` the transport deletes the records older than the topic's `maxAgeMs` that
 * every group reading the topic has acknowledged (`RetentionTrimmer`). A record a group has
 * not acknowledged stays, however old; how far `replay` and `audit()` reach back is the age
 * limit, or further where a group lags. `topics` sets one topic (exact name) apart; `false`
 * keeps everything.
 */
export const brokerRetentionSchema = z
  .union([
    z.literal(false),
    z
      .object({
        maxAgeMs: z.int().min(1_000).default(DEFAULT_BROKER_RETENTION.maxAgeMs),
        /** How often the transport trims the topics it wrote to. */
        intervalMs: z.int().min(100).default(DEFAULT_BROKER_RETENTION.intervalMs),
        /** The namespace's registry topic (agent announcements and heartbeats). */
        registry: roleRetention.default(DEFAULT_BROKER_RETENTION.registry),
        /** The namespace's control topic (cancel requests). */
        control: roleRetention.default(DEFAULT_BROKER_RETENTION.control),
        /** The namespace's reply topic (task events and results). */
        replies: roleRetention.default(DEFAULT_BROKER_RETENTION.replies),
        topics: z.record(z.string().min(1), roleRetention).optional(),
      })
      .strict(),
  ])
  .default({ ...DEFAULT_BROKER_RETENTION });

export type BrokerRetention = z.output<typeof brokerRetentionSchema>;
export type BrokerRetentionInput = z.input<typeof brokerRetentionSchema>;

const sample = runtimeTopics('n');
const roleSuffixes: [RuntimeTopicRole, string][] = [
  ['registry', sample.registry.slice(1)],
  ['control', sample.control.slice(1)],
  ['replies', sample.replies.slice(1)],
];

/** The runtime role of a topic by its name, or undefined for any other topic. */
export function runtimeTopicRole(topic: string): RuntimeTopicRole | undefined {
  for (const [role, suffix] of roleSuffixes) if (topic.endsWith(suffix) && topic.length > suffix.length) return role;
  return undefined;
}

/** The retention a new topic gets: its own entry, else its runtime role's, else the general one. */
export function retentionForTopic(retention: BrokerRetention, topic: string): TopicRetention {
  if (retention === false) return false;
  const own = retention.topics?.[topic];
  if (own !== undefined) return own;
  const role = runtimeTopicRole(topic);
  return role ? retention[role] : { maxAgeMs: retention.maxAgeMs };
}
