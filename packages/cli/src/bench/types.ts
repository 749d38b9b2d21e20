/** One line of the `pnpm bench` table. */
export interface BenchRow {
  /** memory | kafka | redis-streams | nats */
  readonly backend: string;
  /** `a2a-bus` or the raw client it is compared with, e.g. `raw ioredis`. */
  readonly client: string;
  /** e.g. `publish→handle→ack 1 KiB, 4 partitions`, `round trip`. */
  readonly scenario: string;
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly note?: string;
}

/** A backend's benchmark: runs bounded scenarios and returns rows (raw client and a2a-bus side by side). */
export type BenchSuite = (progress: (line: string) => void) => Promise<BenchRow[]>;

export { percentile } from './stats.js';
