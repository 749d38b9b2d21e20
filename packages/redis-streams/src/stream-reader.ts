import type { Logger } from '@a2a-bus/core';
import type { KeyedDispatcher } from '@a2a-bus/core/adapter';
import type { Redis } from 'ioredis';
import type { TopicKeys } from './keys.js';
import { readFields, type StreamRecord } from './records.js';

export interface StreamReaderOptions {
  /** Commands: XAUTOCLAIM, XPENDING, XCLAIM, CLIENT UNBLOCK. */
  readonly client: Redis;
  /** A connection of its own for the blocking XREADGROUP. */
  readonly blocking: Redis;
  readonly keys: TopicKeys;
  readonly group: string;
  /** This member's consumer name in the Redis group. */
  readonly consumer: string;
  readonly dispatcher: KeyedDispatcher<StreamRecord>;
  /** BLOCK of a read of every owned partition. */
  readonly blockMs: number;
  /**
   * How long after an assignment a read the previous owner left blocked may still take
   * entries: its `blockMs` (the group's members share the setting). 0 for a group with no
   * other member, ever (ephemeral).
   */
  readonly settleMs: number;
  /**
   * Partitions no one else can have read (their group is new), while `performance.now()` is
   * before `until`: their first assignment does not settle. Taken from as they are assigned.
   */
  readonly unread?: { readonly partitions: Set<number>; readonly until: number };
  readonly readCount: number;
  readonly claimMinIdleMs: number;
  readonly claimIntervalMs: number;
  readonly logger: Logger;
}

interface PartitionState {
  readonly partition: number;
  readonly stream: string;
  /**
   * `backlog`: claiming what is pending for the group, in id order, before reading new
   * entries; `settling`: drained once, waiting for the previous owner's last blocked read to
   * end (`settleUntil`) before draining again; `reading`: reading new entries.
   */
  phase: 'backlog' | 'settling' | 'reading';
  /**
   * Until when a read the previous owner left blocked on the server may still take entries:
   * a process paused while its XREADGROUP BLOCK waits keeps receiving entries (pending under
   * its name) for up to `blockMs` after its lease lapsed. 0 once drained past it.
   */
  settleUntil: number;
  /** XAUTOCLAIM cursor while in the backlog. */
  cursor: string;
  /** Ids pushed to the dispatcher and not settled yet. */
  readonly held: Set<string>;
}

/** BLOCK of a read that covers only some partitions (less room than partitions). */
const PARTIAL_READ_BLOCK_MS = 20;

/**
 * ioredis defines a Buffer-reply variant of every command at run time but types only some;
 * `callBuffer` is no way around it, as auto-pipelining mangles it.
 */
type BufferCommands = {
  xautoclaimBuffer(...args: (string | number)[]): Promise<unknown>;
  xclaimBuffer(...args: (string | number)[]): Promise<unknown>;
};
const buffers = (client: Redis): BufferCommands => client as unknown as BufferCommands;

type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];
type ClaimedEntry = [id: Buffer, fields: Buffer[] | null];

/**
 * Fetches the entries of the partitions this member owns, one step at a time, so claims,
 * sweeps and reads never overlap:
 * - a partition just taken over is first drained of the entries pending for the group
 *   (XAUTOCLAIM from 0, min-idle 0: the lease guarantees the previous owner stopped), in
 *   id order, before any new entry (`>`) is read, so per-key order survives the handover;
 * - every `claimIntervalMs` (and after a read failed) owned partitions are swept for
 *   entries pending but held by nobody (a lost read reply, a failed XACK, a stalled old
 *   owner) and those are claimed again;
 * - otherwise one XREADGROUP blocks on all owned streams, asking for no more entries than
 *   the dispatcher has room for.
 * Revoking a partition wakes a blocked read (CLIENT UNBLOCK) and waits for the step in
 * progress, so no entry of that partition is fetched after the lease is given up.
 */
export class StreamReader {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly byStream = new Map<string, PartitionState>();
  private readonly options: StreamReaderOptions;
  private loop: Promise<void> | undefined;
  private step: Promise<void> = Promise.resolve();
  private stopping = false;
  private woken = false;
  private wakeWaiter: (() => void) | undefined;
  private reading: Promise<unknown> | undefined;
  private blockingClientId: number | undefined;
  private nextSweepAt = 0;
  private resync = false;
  private roundRobin = 0;

  constructor(options: StreamReaderOptions) {
    this.options = options;
    options.blocking.on('ready', () => {
      // A new connection has a new client id, and a read in flight may have been lost.
      this.blockingClientId = undefined;
      this.resync = true;
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops fetching; resolves when no fetch is in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loop;
  }

  assign(partition: number): void {
    const stream = this.options.keys.stream(partition);
    const { unread } = this.options;
    const neverRead = unread?.partitions.delete(partition) && performance.now() < unread.until;
    const settleUntil = neverRead ? 0 : Date.now() + this.options.settleMs;
    const state: PartitionState = { partition, stream, phase: 'backlog', cursor: '0-0', held: new Set(), settleUntil };
    this.partitions.set(partition, state);
    this.byStream.set(stream, state);
    this.options.dispatcher.assign(partition);
    this.wake();
  }

  /**
   * Stops fetching `partition` and waits for the step in progress; then, unless the
   * subscription was abandoned, waits for the partition's running handlers.
   */
  async revoke(partition: number, waitForHandlers: boolean): Promise<void> {
    const state = this.partitions.get(partition);
    if (state) {
      this.partitions.delete(partition);
      this.byStream.delete(state.stream);
    }
    this.wake();
    await this.step;
    const revoked = this.options.dispatcher.revoke(partition);
    if (waitForHandlers) await revoked;
  }

  /** A record was settled (or its settlement failed: then the sweep finds it again). */
  settled(record: StreamRecord, durable: boolean): void {
    this.partitions.get(record.partition)?.held.delete(record.offset);
    if (!durable) this.resync = true;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.woken = false;
      let failure: unknown;
      // `step` never rejects: revoke() waits on it.
      this.step = this.next().catch((error: unknown) => {
        failure = error ?? new Error('stream read failed');
      });
      await this.step;
      if (failure === undefined) {
        failures = 0;
      } else {
        const error = failure;
        failures += 1;
        this.resync = true;
        if (String((error as Error).message).startsWith('NOGROUP')) await this.recreateGroup();
        this.options.logger.warn({ err: error, failures }, 'stream read failed; retrying');
        await this.waitForWake(Math.min(50 * 2 ** failures, 2_000));
      }
    }
  }

  /**
   * The group (or the stream) vanished: a Redis restart without persistence, or the topic
   * was deleted. Recreate it from the start of what is there, so consumption resumes.
   */
  private async recreateGroup(): Promise<void> {
    const { client, group, logger } = this.options;
    for (const state of this.partitions.values()) {
      await client.xgroup('CREATE', state.stream, group, '0', 'MKSTREAM').then(
        () => logger.warn({ partition: state.partition }, 'consumer group was missing; recreated it'),
        () => undefined, // BUSYGROUP: it exists
      );
    }
  }

  private async next(): Promise<void> {
    const { dispatcher } = this.options;
    if (dispatcher.capacity === 0) {
      await Promise.race([dispatcher.whenReady(), this.waitForWake(this.options.blockMs)]);
      // Let the handlers that finish in this same turn free their slots too, so the next read
      // fetches a batch instead of one entry per freed slot.
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    const now = Date.now();
    let settled = Number.POSITIVE_INFINITY;
    for (const state of this.partitions.values()) {
      if (state.phase === 'backlog') return this.claimBacklog(state);
      if (state.phase !== 'settling') continue;
      if (now < state.settleUntil) {
        settled = Math.min(settled, state.settleUntil);
        continue;
      }
      // The previous owner's last read is over: what it took is pending now; drain again.
      state.phase = 'backlog';
      state.settleUntil = 0;
      return this.claimBacklog(state);
    }
    if (this.resync || now >= this.nextSweepAt) return this.sweep();
    const reading = [...this.partitions.values()].filter((state) => state.phase === 'reading');
    if (reading.length === 0) {
      await this.waitForWake(Math.max(1, Math.min(this.options.blockMs, settled - now)));
      return;
    }
    await this.readNew(reading);
  }

  private async claimBacklog(state: PartitionState): Promise<void> {
    const { client, group, consumer, dispatcher, readCount } = this.options;
    const count = Math.max(1, Math.min(readCount, dispatcher.capacity));
    const reply = (await buffers(client).xautoclaimBuffer(state.stream, group, consumer, 0, state.cursor, 'COUNT', count)) as [
      Buffer,
      ClaimedEntry[],
      Buffer[]?,
    ];
    const [cursor, entries] = reply;
    if (this.partitions.get(state.partition) !== state) return; // revoked meanwhile: the next owner claims them
    const live = await this.dropDeleted(state, entries);
    const deliveries = await this.deliveryCounts(state.stream, live);
    for (const [id, fields] of live) this.push(state, id.toString(), fields, deliveries.get(id.toString()) ?? 1);
    state.cursor = cursor.toString();
    // Drained: read new entries — once the previous owner's last blocked read cannot take any
    // more, or per-key order breaks (it took entry 1 while paused, we would run entry 2 first).
    if (state.cursor === '0-0') state.phase = Date.now() < state.settleUntil ? 'settling' : 'reading';
  }

  /**
   * Redis 6.2 returns a claimed entry that was deleted meanwhile (XDEL, trimming) with no
   * fields; it is gone, so it is acknowledged, not dead-lettered as undecodable. (Redis 7
   * drops such entries from the pending list itself.)
   */
  private async dropDeleted(state: PartitionState, entries: readonly ClaimedEntry[]): Promise<ClaimedEntry[]> {
    const live = entries.filter(([, fields]) => fields !== null);
    if (live.length < entries.length) {
      const gone = entries.filter(([, fields]) => fields === null).map(([id]) => id.toString());
      await this.options.client.xack(state.stream, this.options.group, ...gone);
    }
    return live;
  }

  /** Delivery counts of entries we just claimed (XAUTOCLAIM counted the claim already). */
  private async deliveryCounts(stream: string, entries: readonly ClaimedEntry[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (entries.length === 0) return counts;
    const { client, group, consumer } = this.options;
    const first = entries[0]![0].toString();
    const last = entries[entries.length - 1]![0].toString();
    const rows = (await client.xpending(stream, group, first, last, entries.length, consumer)) as PendingRow[];
    for (const [id, , , delivered] of rows) counts.set(id, delivered);
    return counts;
  }

  /** Claims entries pending in owned partitions that nobody is working on. */
  private async sweep(): Promise<void> {
    this.resync = false;
    this.nextSweepAt = Date.now() + this.options.claimIntervalMs;
    const { client, group, consumer, dispatcher, readCount, claimMinIdleMs } = this.options;
    for (const state of [...this.partitions.values()]) {
      const lost: PendingRow[] = [];
      let start = '-';
      // Bounded: at most a few pages per sweep; the next sweep goes on.
      for (let page = 0; page < 8 && lost.length < dispatcher.capacity; page += 1) {
        const rows = (await client.xpending(state.stream, group, start, '+', readCount)) as PendingRow[];
        for (const row of rows) {
          const [id, owner, idleMs] = row;
          if (state.held.has(id)) continue;
          if (owner === consumer || idleMs >= claimMinIdleMs) lost.push(row);
        }
        if (rows.length < readCount) break;
        start = `(${rows[rows.length - 1]![0]}`;
      }
      if (this.partitions.get(state.partition) !== state) continue;
      const take = lost.slice(0, dispatcher.capacity);
      if (take.length === 0) continue;
      const entries = (await buffers(client).xclaimBuffer(state.stream, group, consumer, 0, ...take.map(([id]) => id))) as ClaimedEntry[];
      if (this.partitions.get(state.partition) !== state) continue;
      const live = await this.dropDeleted(state, entries);
      const deliveries = new Map(take.map(([id, , , delivered]) => [id, delivered + 1]));
      this.options.logger.info({ partition: state.partition, count: live.length }, 'claimed pending entries nobody was handling');
      for (const [id, fields] of live) this.push(state, id.toString(), fields, deliveries.get(id.toString()) ?? 1);
    }
  }

  private async readNew(states: PartitionState[]): Promise<void> {
    const { blocking, group, consumer, dispatcher, readCount, blockMs } = this.options;
    const room = dispatcher.capacity;
    let chosen = states;
    if (room < states.length) {
      // Less room than partitions: read from some of them, rotating so none starves.
      this.roundRobin = (this.roundRobin + 1) % states.length;
      chosen = [...states.slice(this.roundRobin), ...states.slice(0, this.roundRobin)].slice(0, room);
    }
    const count = Math.min(readCount, Math.max(1, Math.floor(room / chosen.length)));
    // Reading only some partitions: a long BLOCK on them sleeps while the others may hold
    // entries (a full second per empty pick with maxInFlight 1), so poll those briefly.
    const block = chosen.length < states.length ? Math.min(blockMs, PARTIAL_READ_BLOCK_MS) : blockMs;
    this.blockingClientId ??= Number(await blocking.client('ID'));
    if (this.woken || this.stopping) return;
    const streams = chosen.map((state) => state.stream);
    const read = blocking.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', count, 'BLOCK', block, 'STREAMS', ...streams, ...streams.map(() => '>'));
    this.reading = read;
    let reply: Awaited<typeof read>;
    try {
      reply = await read;
    } finally {
      this.reading = undefined;
    }
    if (!reply) return;
    for (const [streamName, entries] of reply as unknown as [Buffer, ClaimedEntry[]][]) {
      const state = this.byStream.get(streamName.toString());
      // Revoked while the read was blocked: the entries stay pending for the next owner.
      if (!state || this.partitions.get(state.partition) !== state) continue;
      for (const [id, fields] of entries) this.push(state, id.toString(), fields, 1);
    }
  }

  private push(state: PartitionState, id: string, fields: Buffer[] | null, attempt: number): void {
    const { key, value } = readFields(fields);
    state.held.add(id);
    this.options.dispatcher.push({ partition: state.partition, offset: id, key, value, attempt, stream: state.stream, bytes: undefined });
  }

  /** Ends the current wait or blocked read at once. */
  private wake(): void {
    this.woken = true;
    const waiter = this.wakeWaiter;
    this.wakeWaiter = undefined;
    waiter?.();
    if (this.reading) void this.unblock(this.reading);
  }

  /**
   * CLIENT UNBLOCK from the command connection. It may reach Redis before the read does,
   * so it is repeated until the read returned.
   */
  private async unblock(read: Promise<unknown>): Promise<void> {
    let finished = false;
    void read.then(
      () => (finished = true),
      () => (finished = true),
    );
    for (let tries = 0; tries < 50 && !finished && this.reading === read; tries += 1) {
      if (this.blockingClientId !== undefined) {
        await this.options.client.client('UNBLOCK', this.blockingClientId).catch(() => 0);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.wakeWaiter === done) this.wakeWaiter = undefined;
        resolve();
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.wakeWaiter = done;
    });
  }
}
