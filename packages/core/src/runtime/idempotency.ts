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

/** Keeps the most recent `capacity` results in memory. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly results = new Map<string, A2ATask>();
  private readonly capacity: number;

  constructor(capacity = 100_000) {
    this.capacity = capacity;
  }

  async get(taskId: string): Promise<A2ATask | undefined> {
    return this.results.get(taskId);
  }

  async set(taskId: string, task: A2ATask): Promise<void> {
    this.results.delete(taskId);
    this.results.set(taskId, task);
    if (this.results.size > this.capacity) this.results.delete(this.results.keys().next().value!);
  }
}
