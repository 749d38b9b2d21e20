import { decodeEnvelope, InvalidOptionsError, type ReplayOptions, type ReplayRecord } from '@a2a-bus/core';
import { partitionForKey } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import { SCOPE } from './connection.js';
import { compareStreamIds, streamIdTime, type TopicKeys } from './keys.js';
import { readFields } from './records.js';

const PAGE = 512;

type Entry = [id: Buffer, fields: Buffer[]];

interface Cursor {
  readonly partition: number;
  readonly stream: string;
  /** Last id when the replay started: the end of this replay. */
  readonly end: string;
  start: string;
  page: { id: string; fields: Buffer[] }[];
  done: boolean;
}

/**
 * Fixes what a replay reads: the partitions, where to start, and the last entry each stream
 * has now (the end of the replay). Touches no group and writes nothing.
 */
export async function planReplay(client: Redis, keys: TopicKeys, partitionCount: number | undefined, options: ReplayOptions = {}): Promise<Cursor[]> {
  if (partitionCount === undefined) return []; // the topic was never used
  const from = options.from ?? { beginning: true as const };
  let partitions = Array.from({ length: partitionCount }, (_, p) => p);
  let start = '-';
  if ('partition' in from) {
    if (!Number.isInteger(from.partition) || from.partition < 0 || from.partition >= partitionCount) {
      throw new InvalidOptionsError(SCOPE, 'from.partition', `must be an integer from 0 to ${partitionCount - 1}`);
    }
    if (!/^\d+(-\d+)?$/.test(from.offset)) throw new InvalidOptionsError(SCOPE, 'from.offset', 'must be a stream id such as 1700000000000-0');
    partitions = [from.partition];
    start = from.offset;
  } else if ('timestamp' in from) {
    const ms = from.timestamp instanceof Date ? from.timestamp.getTime() : from.timestamp;
    if (!Number.isFinite(ms)) throw new InvalidOptionsError(SCOPE, 'from.timestamp', 'must be a valid date or ms since the epoch');
    start = `${Math.max(0, Math.floor(ms))}-0`;
  }
  if (options.key !== undefined) {
    const keyPartition = partitionForKey(options.key, partitionCount);
    partitions = partitions.filter((p) => p === keyPartition);
  }

  const cursors: Cursor[] = [];
  const ends = await Promise.all(partitions.map((p) => client.xrevrange(keys.stream(p), '+', '-', 'COUNT', 1)));
  partitions.forEach((partition, i) => {
    const last = ends[i]?.[0]?.[0];
    if (last !== undefined) cursors.push({ partition, stream: keys.stream(partition), end: last, start, page: [], done: false });
  });
  return cursors;
}

/** Reads the planned cursors with XRANGE, partition streams merged in id (= append time) order. */
export async function* readReplay(client: Redis, keys: TopicKeys, cursors: Cursor[], options: ReplayOptions = {}): AsyncGenerator<ReplayRecord> {
  for (;;) {
    await Promise.all(cursors.filter((c) => c.page.length === 0 && !c.done).map((c) => fill(client, c)));
    let next: Cursor | undefined;
    for (const cursor of cursors) {
      const head = cursor.page[0];
      if (head && (!next || compareStreamIds(head.id, next.page[0]!.id) < 0)) next = cursor;
    }
    if (!next) return;
    const { id, fields } = next.page.shift()!;
    const { key, value } = readFields(fields);
    if (options.key !== undefined && key !== options.key) continue;
    const decoded = decodeEnvelope(value);
    yield {
      topic: keys.topic,
      partition: next.partition,
      offset: id,
      timestamp: streamIdTime(id),
      key,
      ...(decoded.ok ? { envelope: decoded.envelope } : { error: decoded.error }),
    };
  }
}

async function fill(client: Redis, cursor: Cursor): Promise<void> {
  if (cursor.start !== '-' && !cursor.start.startsWith('(') && compareStreamIds(cursor.start, cursor.end) > 0) {
    cursor.done = true;
    return;
  }
  const entries = (await client.xrangeBuffer(cursor.stream, cursor.start, cursor.end, 'COUNT', PAGE)) as unknown as Entry[];
  if (entries.length < PAGE) cursor.done = true;
  const last = entries[entries.length - 1];
  if (last) cursor.start = `(${last[0].toString()}`;
  cursor.page = entries.map(([id, fields]) => ({ id: id.toString(), fields }));
}
