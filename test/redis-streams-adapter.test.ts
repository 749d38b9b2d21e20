import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BrokerUnreachableError, InvalidOptionsError, type Delivery, type Transport } from '@a2a-bus/core';
import { partitionForKey } from '@a2a-bus/core/adapter';
import { adapter, createRedisStreamsTransport, type RedisStreamsOptions, type RedisStreamsTransport } from '@a2a-bus/redis-streams';
// White-box: key layout and trimming are internal to the adapter.
import { TopicKeys } from '../packages/redis-streams/src/keys.js';
import { RedisLeaseStore } from '../packages/redis-streams/src/lease-store.js';
import { trimStream } from '../packages/redis-streams/src/retention.js';
// The adapter's own ioredis, to arrange broker state the transport API cannot (stalled members, lost replies).
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delay, OrderChecker, parseSeq, seqText, textMessage, textOf, waitFor } from './src/conformance/context.js';
import { requireBroker } from './src/index.js';
import { LOADED_MACHINE_SLACK_MS } from './src/timing.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(url);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));
const prefix = `a2a-test-${randomUUID().slice(0, 8)}:`;
const base: RedisStreamsOptions = { url, keyPrefix: prefix, partitions: 2, leaseTtlMs: 1_500, claimIntervalMs: 200, claimMinIdleMs: 1_000, blockMs: 200 };

describe.skipIf(skipReason)(`[redis-streams] adapter${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  let raw: Redis;
  const open: Transport[] = [];
  const transport = (options: RedisStreamsOptions = {}): RedisStreamsTransport => {
    const created = createRedisStreamsTransport({ ...base, ...options });
    open.push(created);
    return created;
  };
  const topicName = (): string => `adapter-${randomUUID().slice(0, 8)}`;

  beforeAll(() => {
    raw = new Redis(url);
  });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close({ drainTimeoutMs: 500 })));
  });
  afterAll(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.unlink(...keys);
    raw.disconnect();
  });

  it('connect to an unreachable address fails within connectTimeoutMs, naming the address', async () => {
    const unreachable = transport({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 });
    const started = Date.now();
    const error = await unreachable.connect().catch((e: unknown) => e);
    expect(BrokerUnreachableError.isInstance(error)).toBe(true);
    expect((error as BrokerUnreachableError).address).toBe('127.0.0.1:1');
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(500 + LOADED_MACHINE_SLACK_MS);
    // A publish on it fails the same way instead of waiting for ever.
    const publishError = await unreachable.publish('t', textMessage('k', 'x')).catch((e: unknown) => e);
    expect(BrokerUnreachableError.isInstance(publishError)).toBe(true);
  });

  it('bad options throw InvalidOptionsError naming the field', () => {
    const field = (options: unknown): string | undefined => {
      try {
        createRedisStreamsTransport(options as RedisStreamsOptions);
      } catch (error) {
        return InvalidOptionsError.isInstance(error) ? error.field : 'other error';
      }
      return undefined;
    };
    expect(field({ url: 'http://localhost' })).toBe('url');
    expect(field({ leaseTtlMs: 'soon' })).toBe('leaseTtlMs');
    expect(field({ partitions: 0 })).toBe('partitions');
    expect(field({ retention: { maxLen: -1 } })).toBe('retention.maxLen');
    expect(field({ nonsense: true })).toBe('nonsense');
    expect(field({ leaseTtlMs: 1_000, rebalanceIntervalMs: 1_000 })).toBe('rebalanceIntervalMs');
    expect(field({})).toBeUndefined();
  });

  it('adapter.create builds a redis-streams transport from a URL', async () => {
    const built = adapter.create({ url, keyPrefix: prefix });
    open.push(built);
    expect(built.backend).toBe('redis-streams');
    await built.connect();
  });

  it('the first client fixes a topic’s partition count in Redis; later clients use it', async () => {
    const topic = topicName();
    const first = transport({ partitions: 3 });
    const second = transport({ partitions: 8 });
    const a = await first.publish(topic, textMessage('order-17', 'a'));
    const b = await second.publish(topic, textMessage('order-17', 'b'));
    expect(a.partition).toBe(partitionForKey('order-17', 3));
    expect(b.partition).toBe(a.partition);
    expect(await raw.get(new TopicKeys(prefix, topic).partitionCount)).toBe('3');
    const received: string[] = [];
    const sub = await second.subscribe(topic, (d) => void received.push(textOf(d)), { group: 'g' });
    expect(sub.assignedPartitions()).toEqual([0, 1, 2]);
    await waitFor('both messages', () => received.length === 2, 5_000);
    expect(received).toEqual(['a', 'b']);
  });

  it('a member process killed with SIGKILL while holding messages: its leases lapse and another member handles them', async () => {
    const topic = topicName();
    const options = { ...base, partitions: 2 };
    // The victim: a separate Node process that takes every partition and hangs in its handler.
    const victim = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
         const t = createRedisStreamsTransport(${JSON.stringify(options)});
         await t.subscribe(${JSON.stringify(topic)}, (d) => { console.log('held ' + d.envelope.id); return new Promise(() => {}); }, { group: 'g' });
         console.log('joined');`,
      ],
      { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const held = new Set<string>();
      let joined = false;
      victim.stdout!.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line === 'joined') joined = true;
          if (line.startsWith('held ')) held.add(line.slice(5));
        }
      });
      await waitFor('the victim to join', () => joined, 15_000);
      const publisher = transport(options);
      const receipts = await Promise.all(Array.from({ length: 10 }, (_, i) => publisher.publish(topic, textMessage(`wf-${i}`, `m${i}`))));
      await waitFor('the victim to hold messages', () => held.size >= 2, 5_000);
      const seen = new Map<string, number>();
      const survivor = await transport(options).subscribe(topic, (d) => void seen.set(d.envelope.id, d.attempt), { group: 'g' });
      victim.kill('SIGKILL');
      await waitFor('every message handled by the survivor', () => receipts.every((r) => seen.has(r.id)), 10_000);
      for (const id of held) expect(seen.get(id)).toBeGreaterThanOrEqual(2); // the delivery to the victim counted
      expect(survivor.assignedPartitions()).toEqual([0, 1]);
    } finally {
      victim.kill('SIGKILL');
    }
  }, 30_000);

  it('lease renewals in one script call: free leases taken, own ones extended, others refused, in order', async () => {
    const keys = new TopicKeys(prefix, topicName());
    const store = new RedisLeaseStore(raw, keys, 'g');
    await raw.set(keys.lease('g', 1), 'b', 'PX', 5_000);
    await raw.set(keys.lease('g', 2), 'a', 'PX', 200);
    expect(await store.acquireAll([0, 1, 2, 3], 'a', 4_000)).toEqual([true, false, true, true]);
    expect(await raw.get(keys.lease('g', 1))).toBe('b');
    for (const p of [0, 2, 3]) {
      expect(await raw.get(keys.lease('g', p))).toBe('a');
      expect(await raw.pttl(keys.lease('g', p))).toBeGreaterThan(3_000); // 2 extended from 200 ms
    }
    expect(await store.acquireAll([1], 'b', 4_000)).toEqual([true]);
    expect(await store.acquireAll([], 'a', 4_000)).toEqual([]);
  });

  it('an idle member renews all its leases in one command per round', async () => {
    const topic = topicName();
    const leasePrefix = new TopicKeys(prefix, topic).lease('g', 0).slice(0, -1);
    const monitor = await raw.monitor();
    const renewals: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase().startsWith('eval') && args.some((a) => a.startsWith(leasePrefix)))
        renewals.push(args.filter((a) => a.startsWith(leasePrefix)));
    });
    try {
      const sub = await transport({ partitions: 4, leaseTtlMs: 1_500 }).subscribe(topic, () => {}, { group: 'g' });
      await waitFor('all four partitions', () => sub.assignedPartitions().length === 4, 5_000);
      renewals.length = 0;
      await delay(2_000); // about four rounds (every 500 ms)
      expect(renewals.length).toBeGreaterThanOrEqual(2);
      expect(renewals.length).toBeLessThanOrEqual(6);
      for (const leases of renewals) expect(leases).toEqual([0, 1, 2, 3].map((p) => `${leasePrefix}${p}`));
    } finally {
      monitor.disconnect();
    }
  });

  // An idle agent's reply, control and registry readers are ephemeral groups: read with a 1 s
  // block, swept and renewed like a competing group, they made an idle agent issue 15
  // commands a second.
  it('an idle ephemeral subscription reads with a long block and sweeps once a minute; a new entry still arrives at once', async () => {
    const topic = topicName();
    const monitor = await raw.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(topic))) commands.push(args[0]!.toLowerCase());
    });
    try {
      const seen: number[] = [];
      const client = transport();
      const sub = await client.subscribe(topic, () => void seen.push(Date.now()), { group: 'g', ephemeral: true });
      await waitFor('both partitions', () => sub.assignedPartitions().length === 2, 5_000);
      await delay(500);
      commands.length = 0;
      await delay(6_000); // the competing-group settings (block 200 ms, sweep every 200 ms) would issue about a hundred reads and sweeps
      const count = (name: string): number => commands.filter((c) => c === name).length;
      expect(count('xreadgroup'), commands.join(' ')).toBeLessThanOrEqual(2);
      expect(count('xpending'), commands.join(' ')).toBe(0);
      const sent = Date.now();
      await client.publish(topic, textMessage('k', 'wake'));
      await waitFor('the entry', () => seen.length === 1, 5_000);
      expect(seen[0]! - sent, 'a new entry ends the blocked read').toBeLessThan(2_500);
    } finally {
      monitor.disconnect();
    }
  }, 20_000);

  it('a new group reads new entries as soon as it owns a partition: no previous reader to wait out', async () => {
    const topic = topicName();
    const client = transport({ partitions: 1, blockMs: 6_000 });
    const seen: number[] = [];
    const sub = await client.subscribe(topic, () => void seen.push(Date.now()), { group: 'g' });
    await waitFor('the partition', () => sub.assignedPartitions().length === 1, 5_000);
    const sent = Date.now();
    await client.publish(topic, textMessage('k', 'first'));
    await waitFor('the entry', () => seen.length === 1, 10_000);
    // Waiting out a previous reader's blocked read would hold it about blockMs (6 s) after the assignment.
    expect(seen[0]! - sent).toBeLessThan(3_000);
  }, 20_000);

  it('a previous reader whose blocked read is still open is waited out, so the entry it took runs before a later one of its key', async () => {
    const topic = topicName();
    const keys = new TopicKeys(prefix, topic);
    const publisher = transport({ partitions: 1 });
    await publisher.publish(topic, textMessage('wf', 'before'));
    // "ghost" (a paused process, lease lapsed) has a read blocked on the server: it takes the next entry.
    await raw.xgroup('CREATE', keys.stream(0), 'g', '$', 'MKSTREAM');
    const ghost = new Redis(url, { connectionName: `ghost-${topic}` });
    try {
      const ghostRead = ghost.xreadgroup('GROUP', 'g', 'ghost', 'COUNT', 1, 'BLOCK', 10_000, 'STREAMS', keys.stream(0), '>');
      // Blocked on the server (Redis 7.0 lists no consumer for a read that got nothing yet).
      const blocked = async (): Promise<boolean> =>
        String(await raw.client('LIST'))
          .split('\n')
          .some((line) => line.includes(`name=ghost-${topic}`) && line.includes('cmd=xreadgroup') && / flags=\S*b/.test(line));
      for (let i = 0; i < 50 && !(await blocked()); i += 1) await delay(100);
      expect(await blocked()).toBe(true);
      const seen: string[] = [];
      // Its blockMs (6 s) is how long after the assignment the new owner waits before reading new entries.
      const sub = await transport({ partitions: 1, blockMs: 6_000 }).subscribe(topic, (d) => void seen.push(textOf(d)), { group: 'g' });
      await waitFor('the partition', () => sub.assignedPartitions().length === 1, 5_000);
      const assigned = Date.now();
      await delay(300); // a new owner that did not wait would be reading new entries by now
      await publisher.publish(topic, textMessage('wf', 'first'));
      expect(await ghostRead).not.toBeNull(); // the ghost's read took "first"
      await publisher.publish(topic, textMessage('wf', 'second'));
      // Both were published inside the wait, or the case shows nothing (a machine slower than this).
      expect(Date.now() - assigned).toBeLessThan(5_000);
      await waitFor('both entries', () => seen.includes('second'), 10_000);
      // At least once: "first" may run twice (claimed from the ghost by the sweep, then again when
      // draining), but every run of it comes before "second".
      expect(seen[0]).toBe('first');
      expect(seen.lastIndexOf('first')).toBeLessThan(seen.indexOf('second'));
    } finally {
      ghost.disconnect();
    }
  }, 20_000);

  it('a member that died without releasing: after its leases lapse, its pending entries come first, in order, with the attempt counted', async () => {
    const topic = topicName();
    const keys = new TopicKeys(prefix, topic);
    const publisher = transport({ partitions: 1 });
    for (let i = 0; i < 3; i += 1) await publisher.publish(topic, textMessage('wf', `early-${i}`));
    // A member "ghost" read the first three and died: they are pending for it, its lease still runs.
    await raw.xgroup('CREATE', keys.stream(0), 'g', '0', 'MKSTREAM');
    await raw.xreadgroup('GROUP', 'g', 'ghost', 'COUNT', 3, 'STREAMS', keys.stream(0), '>');
    await raw.set(keys.lease('g', 0), 'ghost', 'PX', 1_000);
    for (let i = 0; i < 2; i += 1) await publisher.publish(topic, textMessage('wf', `late-${i}`));

    const seen: { text: string; attempt: number }[] = [];
    const started = Date.now();
    const sub = await transport().subscribe(topic, (d) => void seen.push({ text: textOf(d), attempt: d.attempt }), { group: 'g' });
    expect(sub.assignedPartitions()).toEqual([]); // the ghost's lease still holds
    await waitFor('five messages', () => seen.length >= 5, 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(seen).toEqual([
      { text: 'early-0', attempt: 2 },
      { text: 'early-1', attempt: 2 },
      { text: 'early-2', attempt: 2 },
      { text: 'late-0', attempt: 1 },
      { text: 'late-1', attempt: 1 },
    ]);
    expect(sub.assignedPartitions()).toEqual([0]);
  });

  it('members crashing and leaving under load: nothing lost, per-key order kept', async () => {
    const topic = topicName();
    const checker = new OrderChecker();
    const handled = new Set<string>();
    const handler = async (d: Delivery): Promise<void> => {
      const { key, seq } = parseSeq(textOf(d));
      checker.enter(key, seq);
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        checker.leave(key);
      };
      d.signal.addEventListener('abort', leave, { once: true }); // an abandoned handler stops counting as running
      await delay(Math.random() * 3);
      if (d.attempt === 1 && seq % 17 === 5) d.nack({ delayMs: 5 });
      leave();
      if (!d.signal.aborted && !(d.attempt === 1 && seq % 17 === 5)) handled.add(d.envelope.id);
    };
    const member = async () => transport({ partitions: 4 }).subscribe(topic, handler, { group: 'g', maxInFlight: 16 });
    const first = await member();
    const second = await member();
    const publisher = transport({ partitions: 4 });
    const ids: string[] = [];
    const publishing = (async () => {
      for (let seq = 0; seq < 40; seq += 1) {
        const receipts = await Promise.all(Array.from({ length: 10 }, (_, k) => publisher.publish(topic, textMessage(`wf-${k}`, seqText(`wf-${k}`, seq)))));
        ids.push(...receipts.map((r) => r.id));
        await delay(15);
      }
    })();
    await delay(150);
    await first.close({ drainTimeoutMs: 0 }); // crash
    const third = await member();
    await delay(150);
    await second.close(); // graceful leave
    await member();
    await publishing;
    await waitFor(`all ${ids.length} handled`, () => ids.every((id) => handled.has(id)), 20_000);
    expect(checker.violations).toEqual([]);
    expect(third.assignedPartitions().length).toBeGreaterThan(0);
  }, 40_000);

  it('in-process retries are written back, so the next owner after a crash continues the attempt count', async () => {
    const topic = topicName();
    const attempts: number[] = [];
    const first = await transport({ partitions: 1 }).subscribe(
      topic,
      (d) => {
        attempts.push(d.attempt);
        if (d.attempt < 3) {
          d.nack({ delayMs: 0 });
          return;
        }
        return new Promise<void>(() => {}); // hangs on the third attempt: then the member crashes
      },
      { group: 'g' },
    );
    const publisher = transport({ partitions: 1 });
    await publisher.publish(topic, textMessage('k', 'flaky'));
    await waitFor('three attempts', () => attempts.length >= 3, 5_000);
    await delay(50);
    await first.close({ drainTimeoutMs: 0 });
    const later: Delivery[] = [];
    await transport({ partitions: 1 }).subscribe(topic, (d) => void later.push(d), { group: 'g' });
    await waitFor('the redelivery', () => later.length >= 1, 5_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(later[0]!.attempt).toBe(4);
  });

  it('an entry pending for this member but held by nobody (lost read reply) is swept up and delivered', async () => {
    const topic = topicName();
    const keys = new TopicKeys(prefix, topic);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: { text: string; attempt: number }[] = [];
    const t = transport({ partitions: 1 });
    const sub = await t.subscribe(
      topic,
      async (d) => {
        seen.push({ text: textOf(d), attempt: d.attempt });
        if (textOf(d) === 'blocker') await gate;
      },
      { group: 'g', maxInFlight: 1 },
    );
    await t.publish(topic, textMessage('a', 'blocker'));
    await waitFor('the blocker', () => seen.length === 1, 5_000);
    await t.publish(topic, textMessage('b', 'lost'));
    // The member is full, so it is not reading; deliver "lost" to its consumer name as a read whose reply never arrived.
    const member = (sub as unknown as { member: string }).member;
    const stolen = await raw.xreadgroup('GROUP', 'g', member, 'COUNT', 1, 'STREAMS', keys.stream(0), '>');
    expect(stolen).not.toBeNull();
    release();
    await waitFor('the lost entry', () => seen.length === 2, 5_000);
    expect(seen[1]).toEqual({ text: 'lost', attempt: 2 });
  });

  it('entries written by other programs (no envelope) are dead-lettered as undecodable, and consumption goes on', async () => {
    const topic = topicName();
    const keys = new TopicKeys(prefix, topic);
    const t = transport({ partitions: 1 });
    const seen: string[] = [];
    const dead: string[] = [];
    await t.subscribe(topic, (d) => void seen.push(textOf(d)), { group: 'g' });
    await t.subscribe(`${topic}.dlq`, (d) => void dead.push(d.envelope.kind === 'dead-letter' ? d.envelope.payload.reason : ''), { group: 'g' });
    await raw.xadd(keys.stream(0), '*', 'foo', 'bar');
    await t.publishRaw(topic, { key: 'k', value: new Uint8Array([0xff, 0x00, 0x7b]) });
    await t.publish(topic, textMessage('k', 'fine'));
    await waitFor('the good one and two dead letters', () => seen.length === 1 && dead.length === 2, 5_000);
    expect(dead.every((reason) => reason.startsWith('undecodable'))).toBe(true);
  });

  it('a group that vanished (Redis restarted without persistence) is recreated and consumption resumes', async () => {
    const topic = topicName();
    const keys = new TopicKeys(prefix, topic);
    const t = transport({ partitions: 1 });
    const seen: string[] = [];
    await t.subscribe(topic, (d) => void seen.push(textOf(d)), { group: 'g' });
    await t.publish(topic, textMessage('k', 'before'));
    await waitFor('the first message', () => seen.length === 1, 5_000);
    await raw.xgroup('DESTROY', keys.stream(0), 'g');
    await t.publish(topic, textMessage('k', 'after'));
    await waitFor('the message after the group vanished', () => seen.includes('after'), 5_000);
  });

  it('replay touches nothing: an unknown topic yields nothing and creates no key; a key filter reads only that key', async () => {
    const topic = topicName();
    const t = transport();
    const none = [];
    for await (const record of t.replay(topic)) none.push(record);
    expect(none).toEqual([]);
    expect(await raw.keys(`${prefix}{${topic}}*`)).toEqual([]);
    for (let i = 0; i < 6; i += 1) await t.publish(topic, textMessage(`k${i % 3}`, `m${i}`));
    const texts: string[] = [];
    for await (const record of t.replay(topic, { key: 'k1' })) {
      if (record.envelope?.kind === 'message') texts.push(record.envelope.payload.parts[0]?.text ?? '');
    }
    expect(texts).toEqual(['m1', 'm4']);
    expect(await raw.exists(new TopicKeys(prefix, topic).members('g'))).toBe(0);
  });

  it('retention is 7 days by default (recent entries stay), `false` keeps all; when set, the transport trims the streams it writes to', async () => {
    const keys = (topic: string): TopicKeys => new TopicKeys(prefix, topic);
    const kept = topicName();
    const trimmed = topicName();
    const recent = topicName();
    const byDefault = transport({ partitions: 1 });
    for (let i = 0; i < 20; i += 1) await byDefault.publish(recent, textMessage('k', `m${i}`));
    expect(await (byDefault as unknown as { trimAll(): Promise<number> }).trimAll()).toBe(0);
    expect(await raw.xlen(keys(recent).stream(0))).toBe(20);
    const plain = transport({ partitions: 1, retention: false });
    const retaining = transport({ partitions: 1, retention: { maxLen: 5, intervalMs: 100 } });
    for (let i = 0; i < 20; i += 1) {
      await plain.publish(kept, textMessage('k', `m${i}`));
      await retaining.publish(trimmed, textMessage('k', `m${i}`));
    }
    await delay(400);
    expect(await raw.xlen(keys(kept).stream(0))).toBe(20);
    expect(await raw.xlen(keys(trimmed).stream(0))).toBe(5);
  });

  it('trimming never deletes an entry a group has pending or not yet read', async () => {
    const stream = `${prefix}trim-${randomUUID().slice(0, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push((await raw.xadd(stream, '*', 'k', 'k', 'v', `${i}`))!);
    await raw.xgroup('CREATE', stream, 'fast', '0');
    await raw.xgroup('CREATE', stream, 'slow', '0');
    await raw.xreadgroup('GROUP', 'fast', 'c', 'COUNT', 20, 'STREAMS', stream, '>');
    await raw.xack(stream, 'fast', ...ids);
    await raw.xreadgroup('GROUP', 'slow', 'c', 'COUNT', 10, 'STREAMS', stream, '>');
    await raw.xack(stream, 'slow', ...ids.slice(0, 5)); // slow: 5-9 pending, 10-19 unread
    await trimStream(raw, stream, { maxLen: 2 });
    // maxLen 2 alone would keep 18-19; the oldest entry pending for "slow" (5) stops the cut.
    expect((await raw.xrange(stream, '-', '+')).map(([id]) => id)).toEqual(ids.slice(5));
    await raw.xack(stream, 'slow', ...ids);
    await raw.xreadgroup('GROUP', 'slow', 'c', 'COUNT', 20, 'STREAMS', stream, '>');
    await raw.xack(stream, 'slow', ...ids);
    await trimStream(raw, stream, { maxAgeMs: 1 }, Date.now() + 10);
    expect((await raw.xrange(stream, '-', '+')).map(([id]) => id)).toEqual([ids[19]]); // the cursor entry stays
  });
});
