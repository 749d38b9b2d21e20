import type { A2ATask, IdempotencyStore } from '@a2a-bus/core';
import { parseOptions } from '@a2a-bus/core/adapter';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { SCOPE } from './connection.js';

const storeOptionsSchema = z
  .object({
    /** `redis://host:6379`; ignored when `client` is given. */
    url: z.string().default('redis://127.0.0.1:6379'),
    /** An ioredis client to use (not closed by `close()`). */
    client: z.custom<Redis>((value) => value instanceof Redis, 'an ioredis client').optional(),
    /** Prefix of the result keys: `<keyPrefix><taskId>`. */
    keyPrefix: z.string().default('a2a:done:'),
    /** How long a finished task's result is remembered (a key's PX). Default 24 h. */
    ttlMs: z.int().min(1_000).default(86_400_000),
  })
  .strict();

export type RedisIdempotencyStoreOptions = z.input<typeof storeOptionsSchema>;

/**
 * An `IdempotencyStore` shared by every worker on one Redis: a task finished by one worker
 * is answered from here when its request is delivered again to another (after a crash, a
 * rebalance or a republish), instead of running twice. Each result expires after `ttlMs`, so
 * the store stays bounded by the tasks finished in that window.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;

  constructor(options: RedisIdempotencyStoreOptions = {}) {
    const config = parseOptions(SCOPE, storeOptionsSchema, options);
    this.ownsClient = config.client === undefined;
    this.client = config.client ?? new Redis(config.url, { lazyConnect: false, maxRetriesPerRequest: 20 });
    this.keyPrefix = config.keyPrefix;
    this.ttlMs = config.ttlMs;
  }

  async get(taskId: string): Promise<A2ATask | undefined> {
    const stored = await this.client.get(this.keyPrefix + taskId);
    return stored === null ? undefined : (JSON.parse(stored) as A2ATask);
  }

  async set(taskId: string, task: A2ATask): Promise<void> {
    await this.client.set(this.keyPrefix + taskId, JSON.stringify(task), 'PX', this.ttlMs);
  }

  /** Closes the client this store created (a client passed in stays open). */
  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** A Redis-backed `IdempotencyStore` for `AgentBus({ idempotencyStore })`. */
export function createRedisIdempotencyStore(options: RedisIdempotencyStoreOptions = {}): RedisIdempotencyStore {
  return new RedisIdempotencyStore(options);
}
