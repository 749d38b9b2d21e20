import { z } from 'zod';
import type { PartitionLog } from './partition-log.js';

const retentionLimitsSchema = z
  .object({
    /** Keep at most about this many records per partition. */
    maxRecords: z.int().min(1).optional(),
    /** Keep at most about this many encoded bytes per partition. */
    maxBytes: z.int().min(1).optional(),
    /** Drop records older than this (stamped by the transport's clock). */
    maxAgeMs: z.int().min(1).optional(),
  })
  .strict();

/** Limits of one topic's log, per partition; `false` keeps everything. */
export type RetentionLimits = z.output<typeof retentionLimitsSchema> | false;

/** Defaults: per partition, whichever is reached first. */
export const DEFAULT_MEMORY_RETENTION = { maxRecords: 10_000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 7 * 86_400_000 } as const;

/**
 * The memory log's retention: on by default, `false` keeps everything. `topics` gives
 * one topic (exact name) its own limits, replacing the transport's (not merged with them).
 * Limits are fixed when a topic is first created on the broker.
 */
export const memoryRetentionSchema = z
  .union([
    z.literal(false),
    retentionLimitsSchema.extend({
      topics: z.record(z.string().min(1), z.union([z.literal(false), retentionLimitsSchema])).optional(),
    }),
  ])
  .default(DEFAULT_MEMORY_RETENTION);

export type MemoryRetention = z.output<typeof memoryRetentionSchema>;

/** The limits a new topic gets under `retention`. */
export function limitsForTopic(retention: MemoryRetention, topic: string): RetentionLimits {
  if (retention === false) return false;
  const { topics, ...limits } = retention;
  const own = topics?.[topic];
  return own === undefined ? limits : own;
}

/**
 * How many appends to a partition go between two retention checks: a check costs a pass
 * over the groups' pending entries, so it is not run on every append. A partition may
 * exceed its limits by that many records until the next check.
 */
export function checkInterval(limits: RetentionLimits): number {
  if (limits === false) return Number.POSITIVE_INFINITY;
  return limits.maxRecords === undefined ? 64 : Math.min(64, Math.max(1, Math.ceil(limits.maxRecords / 8)));
}

/**
 * Drops the oldest records of `log` while one limit is exceeded, never at or past `floor`:
 * the lowest offset some group has not acknowledged (its oldest pending entry, or its cursor).
 */
export function trimPartition(log: PartitionLog, limits: Exclude<RetentionLimits, false>, floor: number, now: number): number {
  const cutoff = limits.maxAgeMs === undefined ? Number.NEGATIVE_INFINITY : now - limits.maxAgeMs;
  let dropped = 0;
  while (log.start < floor) {
    const oldest = log.oldest()!;
    const over =
      (limits.maxRecords !== undefined && log.length > limits.maxRecords) ||
      (limits.maxBytes !== undefined && log.bytes > limits.maxBytes) ||
      oldest.timestamp < cutoff;
    if (!over) break;
    log.dropOldest();
    dropped += 1;
  }
  return dropped;
}
