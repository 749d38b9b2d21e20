/** What a row measures; decides which target applies to it (see targets.ts). */
export type RowKind = 'throughput' | 'one-way' | 'round-trip' | 'dispatch' | 'dispatch-parallel' | 'idle' | 'memory-per-in-flight' | 'info';

/** One line of the `pnpm bench` table. */
export interface BenchRow {
  /** memory | kafka | redis-streams | nats */
  readonly backend: string;
  /** `a2a-bus` or the raw client it is compared with, e.g. `raw ioredis`. */
  readonly client: string;
  /** e.g. `publish→handle→ack 1 KiB, 4 partitions`, `round trip`. */
  readonly scenario: string;
  readonly kind?: RowKind;
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Idle rows: CPU time used per wall-clock time, in % of one core. */
  readonly cpuPercent?: number;
  /** Memory rows: bytes held per in-flight message, and that message's payload size. */
  readonly bytesPerMessage?: number;
  readonly payloadBytes?: number;
  readonly note?: string;
}

/** A backend's benchmark: runs bounded scenarios and returns rows (raw client and a2a-bus side by side). */
export type BenchSuite = (progress: (line: string) => void) => Promise<BenchRow[]>;

export { percentile } from './stats.js';
