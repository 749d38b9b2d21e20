import type { Logger } from '@a2a-bus/core';
import { ephemeralGroupAge, EPHEMERAL_GROUP_PREFIX, sleep, systemClock } from '@a2a-bus/core/adapter';
import type { Admin } from 'kafkajs';

/**
 * Deletes an ephemeral group (and with it its committed offsets) once its subscription
 * closed. The consumer left the group on disconnect, so the group is empty; a broker that
 * still counts the member gets one more try after a moment.
 */
export async function deleteEphemeralGroup(admin: Admin, groupId: string, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      if (attempt >= 3) {
        logger.warn({ err: error, groupId }, 'could not delete the ephemeral group; the next process sweeps it');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
    }
  }
}

/**
 * Deletes ephemeral groups whose process died: older than `reclaimAfterMs` (twice the session
 * timeout, after which the broker has expelled the dead member), empty, and still empty
 * `confirmAfterMs` later. A live member is briefly absent from its group too — rejoining after
 * a stall or a broker restart — and deleting its group then would drop its committed offsets:
 * it would come back at `latest` and miss what was published meanwhile (replies, registry
 * announcements). Returns how many were deleted.
 */
export async function sweepEphemeralGroups(
  admin: Admin,
  reclaimAfterMs: number,
  confirmAfterMs: number,
  logger: Logger,
  /** Aborted when the transport closes: the sweep stops without deleting. */
  signal?: AbortSignal,
): Promise<number> {
  const { groups } = await admin.listGroups();
  const old = groups.map((g) => g.groupId).filter((id) => id.startsWith(EPHEMERAL_GROUP_PREFIX) && (ephemeralGroupAge(id) ?? 0) >= reclaimAfterMs);
  if (old.length === 0) return 0;
  const empty = async (ids: readonly string[]): Promise<string[]> =>
    (await admin.describeGroups([...ids])).groups.filter((g) => g.state === 'Empty' || g.state === 'Dead').map((g) => g.groupId);
  const candidates = await empty(old);
  if (candidates.length === 0) return 0;
  await sleep(systemClock, confirmAfterMs, signal);
  if (signal?.aborted) return 0;
  const gone = await empty(candidates);
  if (gone.length === 0) return 0;
  await admin.deleteGroups(gone).catch((error: unknown) => logger.debug({ err: error }, 'some ephemeral groups could not be deleted'));
  logger.debug({ groups: gone.length }, 'swept the ephemeral groups of processes that are gone');
  return gone.length;
}
