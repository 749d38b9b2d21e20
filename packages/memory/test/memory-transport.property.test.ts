import type { Delivery, EnvelopeInput, Instrumentation, Subscription, Transport } from '@a2a-bus/core';
import { ManualClock, sleep } from '@a2a-bus/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../../core/test/support/fast-check.js';
import { createMemoryTransport, MemoryBroker } from '../src/index.js';

// The memory transport as a whole — log, consumer group, rebalances, pending entries, the ack
// timeout, dispatchers — under random publishes across keys, random verdicts per attempt, and
// members that join, leave (drain), crash (abandon) or hang past the ack timeout. Everything
// runs on one ManualClock, so a case replays exactly from its seed.

type Verdict = 'ack' | 'term' | 'nack' | 'throw' | 'hang';
interface Step {
  readonly verdict: Verdict;
  readonly delayMs?: number | undefined;
  readonly asyncMs?: number | undefined;
}
type Op =
  | { type: 'publish'; key: number; script: Step[] }
  | { type: 'join' }
  | { type: 'leave'; member: number }
  | { type: 'crash'; member: number }
  | { type: 'advance'; ms: number }
  | { type: 'flush' };

const ACK_TIMEOUT_MS = 2_000;
const TOPIC = 'orders';

const step: fc.Arbitrary<Step> = fc.record({
  verdict: fc.constantFrom<Verdict>('ack', 'ack', 'term', 'nack', 'throw', 'hang'),
  delayMs: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  asyncMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant('publish' as const), key: fc.nat(5), script: fc.array(step, { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('join' as const) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leave' as const), member: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('crash' as const), member: fc.nat(5) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('flush' as const) }) },
);
const config = fc.record({
  partitions: fc.integer({ min: 1, max: 4 }),
  maxInFlight: fc.integer({ min: 1, max: 6 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
});

interface Member {
  readonly transport: Transport;
  subscription?: Subscription;
  closing?: Promise<void>;
  /** The ack timeout dropped it from the group (its handlers' signals aborted). */
  dropped?: boolean;
  running: number;
}

interface Published {
  readonly id: string;
  readonly key: string;
  readonly script: readonly Step[];
  readonly attempts: number[];
  readonly ends: string[];
}

class GroupSimulation {
  readonly clock = new ManualClock(1_700_000_000_000);
  readonly broker = new MemoryBroker();
  readonly messages: Published[] = [];
  readonly byId = new Map<string, Published>();
  readonly violations: string[] = [];
  /** Terminal settlements (ack, term, dead letter) per key, in order. */
  readonly endOrder = new Map<string, string[]>();
  readonly members: Member[] = [];
  private readonly runningKeys = new Map<string, number>();
  private readonly publisher: Transport;
  private readonly c: { partitions: number; maxInFlight: number; maxAttempts: number };

  constructor(c: { partitions: number; maxInFlight: number; maxAttempts: number }) {
    this.c = c;
    this.publisher = this.transport();
  }

  private transport(): Transport {
    const end = (type: string) => (event: { id: string; key: string; attempt?: number; attempts?: number }) => {
      const message = this.byId.get(event.id);
      if (!message) return;
      message.ends.push(`${type}@${event.attempt ?? event.attempts}`);
      const order = this.endOrder.get(event.key) ?? [];
      order.push(event.id);
      this.endOrder.set(event.key, order);
    };
    const instrumentation: Instrumentation = { onAck: end('ack'), onTerm: end('term'), onDeadLetter: end('dead-letter') };
    // Retention as tight as it gets (checked on every append, 100 ms of clock): the properties
    // below hold only if trimming never drops a record the group has not acknowledged.
    const retention = { maxRecords: 1, maxAgeMs: 100, topics: { [`${TOPIC}.dlq`]: false as const } };
    return createMemoryTransport({
      broker: this.broker,
      partitions: this.c.partitions,
      clock: this.clock,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      instrumentation,
      retention,
    });
  }

  async publish(key: string, script: Step[]): Promise<void> {
    const id = `m${this.messages.length}`;
    const message: Published = { id, key, script, attempts: [], ends: [] };
    this.messages.push(message);
    this.byId.set(id, message);
    const envelope: EnvelopeInput = { kind: 'message', id, key, payload: { messageId: id, role: 'ROLE_USER', parts: [{ text: id }] } };
    await this.publisher.publish(TOPIC, envelope);
  }

  async join(): Promise<void> {
    const member: Member = { transport: this.transport(), running: 0 };
    this.members.push(member);
    member.subscription = await member.transport.subscribe(TOPIC, (d) => this.handle(member, d), {
      group: 'g',
      maxInFlight: this.c.maxInFlight,
      retry: { maxAttempts: this.c.maxAttempts, initialDelayMs: 50, maxDelayMs: 400 },
    });
  }

  /** Graceful (drain for up to 1 s of clock) or a crash (abandon at once). */
  stop(index: number, crash: boolean): void {
    const live = this.live();
    const member = live[index % Math.max(1, live.length)];
    if (!member) return;
    member.closing = member.subscription!.close({ drainTimeoutMs: crash ? 0 : 1_000 });
  }

  live(): Member[] {
    return this.members.filter((m) => m.subscription && !m.closing && !m.dropped);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  async flush(): Promise<void> {
    for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Moves the clock, starting a member when none is left (a supervisor restarting processes), until every message ended. */
  async finish(): Promise<void> {
    for (let round = 0; round < 300; round += 1) {
      await this.flush();
      if (this.messages.every((m) => m.ends.length > 0)) return;
      if (this.live().length === 0) await this.join();
      this.advance(500);
    }
  }

  async close(): Promise<void> {
    for (const member of this.members) {
      void member.transport.close({ drainTimeoutMs: 0 });
    }
    void this.publisher.close();
    await this.flush();
  }

  private handle(member: Member, delivery: Delivery): void | Promise<void> {
    const message = this.byId.get(delivery.envelope.id)!;
    const { key } = message;
    message.attempts.push(delivery.attempt);
    if ((this.runningKeys.get(key) ?? 0) > 0) this.violations.push(`key ${key}: ${message.id} started while another live handler of the key ran`);
    member.running += 1;
    if (member.running > this.c.maxInFlight) this.violations.push(`${member.running} handlers running in one member, bound ${this.c.maxInFlight}`);
    this.runningKeys.set(key, (this.runningKeys.get(key) ?? 0) + 1);
    let left = false;
    delivery.signal.addEventListener('abort', () => void (member.dropped = true), { once: true });
    const leave = (): void => {
      if (left) return;
      left = true;
      member.running -= 1;
      this.runningKeys.set(key, this.runningKeys.get(key)! - 1);
    };
    // An abandoned handler no longer counts as running its key: its member is gone.
    delivery.signal.addEventListener('abort', leave, { once: true });
    const s = message.script[delivery.attempt - 1] ?? { verdict: 'ack' };
    const decide = (): void => {
      leave();
      if (s.verdict === 'ack') delivery.ack();
      else if (s.verdict === 'term') delivery.term('scripted');
      else if (s.verdict === 'nack') delivery.nack(s.delayMs === undefined ? {} : { delayMs: s.delayMs });
      else if (s.verdict === 'throw') throw new Error('scripted');
    };
    if (s.verdict === 'hang') return sleep(this.clock, ACK_TIMEOUT_MS * 10).then(decide);
    if (s.asyncMs === undefined) return decide();
    return sleep(this.clock, s.asyncMs).then(decide);
  }
}

describe('memory transport properties', () => {
  it('under joins, leaves, crashes and hangs: one end per message, per-key order, attempts counting up, bounded handlers', async () => {
    await fc.assert(
      fc.asyncProperty(config, fc.array(op, { minLength: 1, maxLength: 30 }), async (c, ops) => {
        const sim = new GroupSimulation(c);
        try {
          await sim.join();
          for (const o of ops) {
            if (o.type === 'publish') await sim.publish(`k${o.key}`, o.script);
            else if (o.type === 'join') await sim.join();
            else if (o.type === 'leave' || o.type === 'crash') sim.stop(o.member, o.type === 'crash');
            else if (o.type === 'advance') sim.advance(o.ms);
            else await sim.flush();
          }
          await sim.finish();
          expect(sim.violations).toEqual([]);
          for (const m of sim.messages) {
            // Exactly one end: acknowledged, terminated or dead-lettered.
            expect(m.ends, `ends of ${m.id} (attempts ${m.attempts.join(',')})`).toHaveLength(1);
            const [kind, at] = m.ends[0]!.split('@') as [string, string];
            const attempt = Number(at);
            const verdict = m.script[attempt - 1]?.verdict ?? 'ack';
            if (kind === 'ack') expect(verdict, `${m.id} acked at attempt ${attempt}`).toBe('ack');
            if (kind === 'term') expect(verdict, `${m.id} termed at attempt ${attempt}`).toBe('term');
            if (kind === 'dead-letter') expect(attempt, `${m.id} dead-lettered after ${attempt} attempts`).toBeGreaterThanOrEqual(c.maxAttempts);
            // Attempts start at 1 and count up by one (a crash mid-attempt may repeat one, never skip one).
            if (m.attempts.length > 0) expect(m.attempts[0]).toBe(1);
            for (let i = 1; i < m.attempts.length; i += 1) {
              const stepUp = m.attempts[i]! - m.attempts[i - 1]!;
              expect(stepUp === 0 || stepUp === 1, `${m.id} attempts ${m.attempts.join(',')}`).toBe(true);
            }
          }
          for (const key of new Set(sim.messages.map((m) => m.key))) {
            const published = sim.messages.filter((m) => m.key === key).map((m) => m.id);
            expect(sim.endOrder.get(key), `end order of ${key}`).toEqual(published);
          }
          // Dead letters on the topic: one per dead-lettered message, none for the others.
          const dead: string[] = [];
          for await (const record of sim.broker.existingTopic(`${TOPIC}.dlq`) ? sim.members[0]!.transport.replay(`${TOPIC}.dlq`) : [])
            dead.push(record.envelope!.id);
          expect(dead.sort()).toEqual(
            sim.messages
              .filter((m) => m.ends[0]!.startsWith('dead-letter'))
              .map((m) => m.id)
              .sort(),
          );
          if (process.env.FC_STATS) stats(sim);
        } finally {
          await sim.close();
        }
      }),
      propertyParams(150),
    );
  }, 90_000);
});

const totals: Record<string, number> = {};
function stats(sim: GroupSimulation): void {
  const add = (k: string, n = 1) => void (totals[k] = (totals[k] ?? 0) + n);
  add('runs');
  add('messages', sim.messages.length);
  add('members', sim.members.length);
  add('dropped', sim.members.filter((m) => m.dropped).length);
  for (const m of sim.messages) {
    add(m.ends[0]!.split('@')[0]!);
    if (m.attempts.some((a, i) => i > 0 && a === m.attempts[i - 1])) add('repeated attempt');
    if (m.attempts.length === 0) add('never handled');
  }
  if (totals.runs! % 50 === 0) process.stderr.write(`${JSON.stringify(totals)}\n`);
}
