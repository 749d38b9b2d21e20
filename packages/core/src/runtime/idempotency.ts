import type { A2ATask } from '../a2a/schema.js';

/**
 * Remembers the final result of tasks already handled, so a duplicate delivery (redelivery
 * after a crash, a republished request) answers from here instead of running the handler
 * again. Share one store (e.g. backed by Redis) between workers to suppress duplicates
 * across processes; the default is per process.
 */
export interface IdempotencyStore {
  get(taskId: string): Promise<A2ATask | undefined>;
  set(taskId: string, task: A2ATask): Promise<void>;
}

/**
 * Keeps the most recent `capacity` results in memory, each for at most `ttlMs` (default
 * 24 h): bounded in count and in age. Per process; share a store across workers (e.g.
 * `createRedisIdempotencyStore` from `@a2a-bus/redis-streams`) to answer duplicates that
 * reach another process.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly results = new Map<string, { task: A2ATask; until: number }>();
  private readonly capacity: number;
  private readonly ttlMs: number;
  /**
   * When the oldest entry kept expires, or sooner (the head may have gone since): until then
   * there is nothing to drop, and no iterator is built per `set`.
   */
  private headUntil = Number.POSITIVE_INFINITY;

  constructor(capacity = 100_000, ttlMs = 86_400_000) {
    this.capacity = capacity;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.results.size;
  }

  async get(taskId: string): Promise<A2ATask | undefined> {
    return this.getNow(taskId);
  }

  async set(taskId: string, task: A2ATask): Promise<void> {
    this.setNow(taskId, task);
  }

  /** `get` without a promise: the worker asks this store directly (two awaits less per task). */
  getNow(taskId: string): A2ATask | undefined {
    const entry = this.results.get(taskId);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.task;
    this.results.delete(taskId);
    return undefined;
  }

  /** `set` without a promise. */
  setNow(taskId: string, task: A2ATask): void {
    const now = Date.now();
    this.results.delete(taskId);
    const until = now + this.ttlMs;
    this.results.set(taskId, { task, until });
    this.headUntil = Math.min(this.headUntil, until);
    if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value!);
    if (now >= this.headUntil) this.dropExpired(now);
  }

  /** Insertion order is expiry order: drops the expired head. */
  private dropExpired(now: number): void {
    this.headUntil = Number.POSITIVE_INFINITY;
    for (const [id, entry] of this.results) {
      if (entry.until > now) {
        this.headUntil = entry.until;
        break;
      }
      this.results.delete(id);
    }
  }
}
