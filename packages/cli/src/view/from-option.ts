import type { ReplayFrom } from '@a2a-bus/core';

/** Where `tail` starts: the log's beginning, only what comes next, a position, or an instant. */
export type TailStart = { readonly latest: true } | ReplayFrom;

/**
 * Parses `--from`: `beginning`, `latest`, `<partition>:<offset>`, `<offset>` (partition
 * from `--partition`, default 0), or an ISO 8601 instant.
 */
export function parseFrom(value: string, partition = 0): TailStart {
  if (value === 'beginning') return { beginning: true };
  if (value === 'latest') return { latest: true };
  const at = /^(\d+):(.+)$/.exec(value);
  if (at) return { partition: Number(at[1]), offset: at[2]! };
  if (/^\d+(-\d+)?$/.test(value)) return { partition, offset: value };
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new Error(`--from must be beginning, latest, <partition>:<offset>, <offset> or an ISO time; got "${value}"`);
  return { timestamp: time };
}
