import type { Logger, Transport } from '@a2a-bus/core';
import { parseOptions, type Clock } from '@a2a-bus/core/adapter';
import { z } from 'zod';
import type { Anomaly } from './anomaly.js';
import type { LagSource } from './lag.js';

const valueOptions = (defaults: {
  warmup: number;
  sensitivity: number;
  minRatio: number;
  recent: number;
  raiseAfter: number;
  minDurationMs: number;
  floor: number;
}) =>
  z
    .object({
      warmup: z.int().min(1).default(defaults.warmup),
      sensitivity: z.number().positive().default(defaults.sensitivity),
      minRatio: z.number().min(1).default(defaults.minRatio),
      recent: z.int().min(1).max(64).default(defaults.recent),
      span: z.int().min(2).default(200),
      raiseAfter: z.int().min(1).default(defaults.raiseAfter),
      minDurationMs: z.int().min(0).default(defaults.minDurationMs),
      clearAfter: z.int().min(1).default(20),
      floor: z.number().min(0).default(defaults.floor),
    })
    .prefault({});

const rateOptions = (minDelta: number) =>
  z
    .object({
      windowEvents: z.int().min(5).default(20),
      warmupWindows: z.int().min(0).default(5),
      sensitivity: z.number().positive().default(4),
      minDelta: z.number().min(0).max(1).default(minDelta),
      clearAfter: z.int().min(1).default(3),
    })
    .prefault({});

export const anomalyDetectorSchema = z.object({
  /** The bus namespace: task topics are `<namespace>.tasks.<capability>`, anomalies go to `<namespace>.anomalies`. */
  namespace: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('a2a'),
  /** Names this detector in every anomaly it raises (default: a random id). */
  detectorId: z.string().min(1).optional(),
  /** In-process: the agent instance whose traffic this process sees, put on its anomalies. */
  agent: z.string().min(1).optional(),
  /** Where anomalies are published (to `<namespace>.anomalies`); none: callback and metrics only. */
  transport: z.custom<Transport>((value) => typeof value === 'object' && value !== null && 'publish' in value, 'a Transport').optional(),
  onAnomaly: z.custom<(anomaly: Anomaly) => void>((value) => typeof value === 'function', 'a function').optional(),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null, 'a logger').optional(),
  clock: z.custom<Clock>((value) => typeof value === 'object' && value !== null && 'now' in value, 'a Clock').optional(),
  /** Time window of the throughput and silence checks. 0: no timer (call `tick()` yourself). */
  tickMs: z.int().min(0).default(1_000),
  /** Consumer lag source, sampled every `lagIntervalMs` (e.g. `() => transport.inspectLag()`). */
  lag: z.custom<LagSource>((value) => typeof value === 'function', 'a function returning lag samples').optional(),
  lagIntervalMs: z.int().min(10).default(2_000),
  /** Also watch topics outside the agent runtime (the topic stands for the capability). */
  allTopics: z.boolean().default(false),
  /** Series (capability × detector) kept at once; the oldest are dropped beyond it. */
  maxSeries: z.int().min(1).default(1_000),
  latency: valueOptions({ warmup: 50, sensitivity: 4, minRatio: 3, recent: 7, raiseAfter: 8, minDurationMs: 1_000, floor: 1 }),
  /** Tail latency (≈ p95 of the last 64 handler runs), reported as `handler-latency` too. */
  latencyTail: z
    .object({
      size: z.int().min(8).max(1_024).default(64),
      rank: z.int().min(1).default(3),
      every: z.int().min(1).default(16),
      warmupChecks: z.int().min(1).default(8),
      sensitivity: z.number().positive().default(4),
      minRatio: z.number().min(1).default(3),
      raiseAfter: z.int().min(1).default(4),
      minDurationMs: z.int().min(0).default(2_000),
      clearAfter: z.int().min(1).default(4),
      floor: z.number().min(0).default(1),
    })
    .prefault({}),
  payloadSize: valueOptions({ warmup: 50, sensitivity: 6, minRatio: 10, recent: 1, raiseAfter: 1, minDurationMs: 0, floor: 64 }),
  retryRate: rateOptions(0.15),
  deadLetterRate: rateOptions(0.05),
  redeliveryRate: rateOptions(0.1),
  lagGrowth: z.object({ windows: z.int().min(2).default(5), minLag: z.int().min(1).default(20) }).prefault({}),
  throughput: z
    .object({
      warmupWindows: z.int().min(1).default(10),
      collapseRatio: z.number().gt(0).lt(1).default(0.1),
      minBaseline: z.number().positive().default(5),
      raiseAfter: z.int().min(1).default(3),
    })
    .prefault({}),
  /**
   * In-process: a handler run overlapping a stall of this process (its timers this many ms
   * late: GC, a starved CPU) is not counted as the agent's latency. 0 turns the guard off.
   */
  stallThresholdMs: z.int().min(0).default(100),
  /** An agent holding work and not heard from for this long is silent (match the bus's agentTtlMs). */
  silentAfterMs: z.int().min(1).default(15_000),
});

export type AnomalyDetectorOptions = z.input<typeof anomalyDetectorSchema>;
export type ParsedAnomalyDetectorOptions = z.output<typeof anomalyDetectorSchema>;

export function parseAnomalyDetectorOptions(options: unknown): ParsedAnomalyDetectorOptions {
  return parseOptions('anomalies', anomalyDetectorSchema, options);
}
