/**
 * Ephemeral groups: per-process state (reply, control and registry cursors) that must not
 * outlive its process. Adapters name such a group `~eph.<created, base 36 ms>.<group>`, remove
 * its broker state when the subscription closes, and sweep groups of this shape whose owner
 * is gone (no live member) once they are older than the backend's reclaim time.
 */
export const EPHEMERAL_GROUP_PREFIX = '~eph.';

/** The broker-side name of an ephemeral group: unique per subscription, carrying its creation time. */
export function ephemeralGroupName(group: string, now: number = Date.now()): string {
  return `${EPHEMERAL_GROUP_PREFIX}${now.toString(36)}.${Math.random().toString(36).slice(2, 8)}.${group}`;
}

/** How old an ephemeral group is, from its name (ms); undefined when the name is not one. */
export function ephemeralGroupAge(name: string, now: number = Date.now()): number | undefined {
  const at = name.indexOf(EPHEMERAL_GROUP_PREFIX);
  if (at < 0) return undefined;
  const stamp = name.slice(at + EPHEMERAL_GROUP_PREFIX.length).split('.')[0] ?? '';
  const created = Number.parseInt(stamp, 36);
  return Number.isFinite(created) ? now - created : undefined;
}
