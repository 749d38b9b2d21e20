/**
 * Offsets handled beyond the commit position, carried in Kafka's commit metadata.
 *
 * A Kafka commit covers everything before its offset, so a message handled while an earlier
 * one of its partition still runs (a slow key, a retry backing off) is not covered: after a
 * hand-over its next owner would run it again. The commit's metadata string stores those
 * offsets, and the next owner (reading them with the committed offset) settles them without
 * running them. Only an optimisation of at-least-once: a missing, truncated or foreign
 * metadata string means those messages run again, never that one is skipped unhandled.
 *
 * Format: `a2a-bus/1:` then the gaps between successive offsets (the first from the commit
 * position), base 36, comma-separated: `a2a-bus/1:2,1,a` after position 100 is 102, 103, 113.
 */

const prefix = 'a2a-bus/1:';

/** Kafka refuses a commit whose metadata passes `offset.metadata.max.bytes` (4096 by default). */
export const maxSettledAheadChars = 3_000;

/** The metadata for a commit at `position` with `settled` (ascending, all ≥ position) handled ahead; null when there are none. */
export function encodeSettledAhead(position: bigint, settled: readonly bigint[], maxChars = maxSettledAheadChars): string | null {
  let text = prefix;
  let previous = position;
  let count = 0;
  for (const offset of settled) {
    if (offset < previous) continue;
    const part = (count === 0 ? '' : ',') + (offset - previous).toString(36);
    // Past the limit the rest is left out: those messages would run again, nothing worse.
    if (text.length + part.length > maxChars) break;
    text += part;
    previous = offset;
    count += 1;
  }
  return count === 0 ? null : text;
}

/** The offsets a commit at `position` with `metadata` says were handled ahead; empty for anything else. */
export function decodeSettledAhead(position: bigint, metadata: string | null | undefined): Set<bigint> {
  const offsets = new Set<bigint>();
  if (!metadata?.startsWith(prefix)) return offsets;
  let previous = position;
  for (const gap of metadata.slice(prefix.length).split(',')) {
    if (!/^[0-9a-z]{1,12}$/.test(gap)) return new Set(); // not ours after all: trust none of it
    previous += BigInt(Number.parseInt(gap, 36));
    offsets.add(previous);
  }
  return offsets;
}
