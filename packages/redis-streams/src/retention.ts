import type { Redis } from 'ioredis';
import { compareStreamIds } from './keys.js';

export interface RetentionPolicy {
  readonly maxLen?: number | undefined;
  readonly maxAgeMs?: number | undefined;
}

/** Most entries looked at to find where `maxLen` cuts, per stream and round. */
const MAX_EXCESS_PER_ROUND = 10_000;

/**
 * Trims one stream to the policy without ever deleting an entry some group still needs:
 * the cut (MINID) is at most the oldest entry pending in any group and at most the last
 * entry any group has read (its cursor). Plain MAXLEN would delete pending entries; this never
 * does. Returns the number of entries deleted.
 */
export async function trimStream(client: Redis, stream: string, policy: RetentionPolicy, now = Date.now()): Promise<number> {
  let cut: string | undefined;
  if (policy.maxAgeMs !== undefined) cut = `${Math.max(0, now - policy.maxAgeMs)}-0`;
  if (policy.maxLen !== undefined) {
    const length = await client.xlen(stream);
    const excess = Math.min(length - policy.maxLen, MAX_EXCESS_PER_ROUND);
    if (excess > 0) {
      const head = await client.xrange(stream, '-', '+', 'COUNT', excess + 1);
      const firstKept = head[head.length - 1]?.[0];
      if (firstKept && (!cut || compareStreamIds(firstKept, cut) > 0)) cut = firstKept;
    }
  }
  if (!cut) return 0;
  const floor = await groupFloor(client, stream);
  if (floor !== undefined && compareStreamIds(floor, cut) < 0) cut = floor;
  if (cut === '0-0') return 0;
  // Exact (=), not ~: deletes precisely what the policy allows, no less.
  return Number(await client.xtrim(stream, 'MINID', '=', cut));
}

/** The lowest id any group still needs: its oldest pending entry or, else, what follows its cursor. */
async function groupFloor(client: Redis, stream: string): Promise<string | undefined> {
  const groups = (await client.xinfo('GROUPS', stream)) as unknown[][];
  let floor: string | undefined;
  for (const fields of groups) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
    const name = String(info.get('name'));
    let needed = String(info.get('last-delivered-id') ?? '0-0');
    if (Number(info.get('pending') ?? 0) > 0) {
      const summary = (await client.xpending(stream, name)) as [number, string | null, string | null, unknown];
      if (summary[1] && compareStreamIds(summary[1], needed) < 0) needed = summary[1];
    }
    if (!floor || compareStreamIds(needed, floor) < 0) floor = needed;
  }
  return floor;
}
