import type { LeaseStore } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import type { TopicKeys } from './keys.js';

/**
 * KEYS[1] members zset, ARGV member, ttl ms, channel. Scores are expiry times on the Redis
 * clock, so members on machines with skewed clocks agree on who is alive. A member seen for
 * the first time announces itself so the others rebalance at once.
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
if added == 1 then redis.call('PUBLISH', ARGV[3], 'join:' .. ARGV[1]) end
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** KEYS[1] members zset, ARGV member, channel. */
const LEAVE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], 'leave:' .. ARGV[1]) end
return 0
`;

/**
 * KEYS lease keys (one topic: one hash slot), ARGV member, ttl ms. Takes each lease that is
 * free or extends it when it is ours; returns 1 (held now) or 0 per key, in order.
 */
const ACQUIRE = `
local held = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    held[i] = 1
  elseif owner == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
`;

/** KEYS[1] lease key, ARGV member, channel. Frees the lease only if we hold it, and says so. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'release:' .. ARGV[1])
  return 1
end
return 0
`;

type ScriptedRedis = Redis & {
  a2aHeartbeat(members: string, member: string, ttlMs: number, channel: string): Promise<string[]>;
  a2aLeave(members: string, member: string, channel: string): Promise<number>;
  a2aAcquire(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
  a2aRelease(lease: string, member: string, channel: string): Promise<number>;
};

/** Registers the lease scripts on a client (EVALSHA, falling back to EVAL after a restart). */
export function defineLeaseScripts(client: Redis): void {
  if ('a2aAcquire' in client) return;
  client.defineCommand('a2aHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
  client.defineCommand('a2aLeave', { numberOfKeys: 1, lua: LEAVE });
  client.defineCommand('a2aAcquire', { lua: ACQUIRE });
  client.defineCommand('a2aRelease', { numberOfKeys: 1, lua: RELEASE });
}

/**
 * The `LeaseStore` of one consumer group on one topic, on Redis: a lease is a key set with
 * NX and PX, extended and released by Lua only by its owner, so handing a partition over is
 * atomic; members are a sorted set scored by heartbeat expiry. Joins, leaves and releases are
 * announced on a pub/sub channel so the other members rebalance without waiting a round.
 */
export class RedisLeaseStore implements LeaseStore {
  private readonly client: ScriptedRedis;
  private readonly keys: TopicKeys;
  private readonly group: string;

  constructor(client: Redis, keys: TopicKeys, group: string) {
    defineLeaseScripts(client);
    this.client = client as ScriptedRedis;
    this.keys = keys;
    this.group = group;
  }

  heartbeat(member: string, ttlMs: number): Promise<string[]> {
    return this.client.a2aHeartbeat(this.keys.members(this.group), member, ttlMs, this.keys.rebalanceChannel(this.group));
  }

  async leave(member: string): Promise<void> {
    await this.client.a2aLeave(this.keys.members(this.group), member, this.keys.rebalanceChannel(this.group));
  }

  async acquire(partition: number, member: string, ttlMs: number): Promise<boolean> {
    const [held] = await this.acquireAll([partition], member, ttlMs);
    return held === true;
  }

  /** Every lease of a round in one script call: an idle member's renewals cost one round trip. */
  async acquireAll(partitions: readonly number[], member: string, ttlMs: number): Promise<boolean[]> {
    const keys = partitions.map((partition) => this.keys.lease(this.group, partition));
    const held = await this.client.a2aAcquire(keys.length, ...keys, member, ttlMs);
    return held.map((value) => value === 1);
  }

  async release(partition: number, member: string): Promise<void> {
    await this.client.a2aRelease(this.keys.lease(this.group, partition), member, this.keys.rebalanceChannel(this.group));
  }
}
