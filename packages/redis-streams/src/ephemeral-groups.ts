import type { Logger } from '@a2a-bus/core';
import { ephemeralGroupAge, EPHEMERAL_GROUP_PREFIX } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import type { TopicKeys } from './keys.js';

/** KEYS[1] members zset. Members still alive now, on the Redis clock (scores are heartbeat expiries). */
const LIVE_MEMBERS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/**
 * Removes everything an ephemeral group keeps: its consumer group on every partition stream,
 * its members set and its leases. A closed subscription does this itself; the sweep below
 * does it for one whose process died.
 */
export async function destroyGroup(client: Redis, keys: TopicKeys, partitions: number, group: string): Promise<void> {
  const pipeline = client.pipeline();
  for (let p = 0; p < partitions; p += 1) {
    pipeline.xgroup('DESTROY', keys.stream(p), group);
    pipeline.del(keys.lease(group, p));
  }
  pipeline.del(keys.members(group));
  await pipeline.exec();
}

/**
 * Destroys the ephemeral groups of a topic whose owner is gone: older than `reclaimAfterMs`
 * (twice the lease TTL: a live owner heartbeats well within it) and without a live member.
 * Groups are created on every partition stream together, so partition 0 lists them all.
 * Returns how many were destroyed.
 */
export async function sweepEphemeralGroups(client: Redis, keys: TopicKeys, partitions: number, reclaimAfterMs: number, logger: Logger): Promise<number> {
  let groups: unknown[];
  try {
    groups = (await client.xinfo('GROUPS', keys.stream(0))) as unknown[];
  } catch {
    return 0; // no stream yet: nothing to sweep
  }
  let destroyed = 0;
  for (const entry of groups) {
    const name = groupName(entry);
    if (!name?.startsWith(EPHEMERAL_GROUP_PREFIX)) continue;
    const age = ephemeralGroupAge(name);
    if (age === undefined || age < reclaimAfterMs) continue;
    const live = Number(await client.eval(LIVE_MEMBERS, 1, keys.members(name)));
    if (live > 0) continue;
    await destroyGroup(client, keys, partitions, name);
    destroyed += 1;
    logger.debug({ topic: keys.topic, group: name, ageMs: age }, 'swept the ephemeral group of a process that is gone');
  }
  return destroyed;
}

/** XINFO GROUPS answers a flat [field, value, ...] list per group. */
function groupName(entry: unknown): string | undefined {
  if (!Array.isArray(entry)) return undefined;
  const at = entry.indexOf('name');
  const value = at >= 0 ? entry[at + 1] : undefined;
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}
