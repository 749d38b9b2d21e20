import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoff } from '../src/consumer/backoff.js';
import { DispatcherHarness, expectedEnd, type Action, type PublishSpec } from './support/dispatcher-harness.js';
import { propertyParams } from './support/fast-check.js';

// Random interleavings of publishes across keys and partitions, random verdicts per attempt
// (ack, term, nack with or without a delay, throw, no verdict; synchronous or taking time on
// the clock), revokes in the middle, dead-letter publishes that fail first. The dispatcher
// runs on a ManualClock, so a case takes milliseconds and replays exactly from its seed.

const action: fc.Arbitrary<Action> = fc.record({
  settle: fc.constantFrom<Action['settle']>('ack', 'ack', 'term', 'nack', 'nack', 'throw', 'none'),
  delayMs: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  asyncMs: fc.option(fc.integer({ min: 0, max: 250 }), { nil: undefined }),
});

const config = fc.record({
  partitions: fc.integer({ min: 1, max: 3 }),
  keys: fc.integer({ min: 1, max: 5 }),
  maxInFlight: fc.integer({ min: 1, max: 8 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  initialDelayMs: fc.integer({ min: 0, max: 50 }),
  maxDelayMs: fc.integer({ min: 0, max: 200 }),
});

type Config = typeof config extends fc.Arbitrary<infer C> ? C : never;

type Op =
  | { type: 'publish'; key: number; script: Action[]; garbage: boolean; priorDeliveries: number; deadLetterFailures: number }
  | { type: 'advance'; ms: number }
  | { type: 'revoke'; partition: number }
  | { type: 'flush' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('publish' as const),
      key: fc.nat(4),
      script: fc.array(action, { maxLength: 4 }),
      garbage: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      priorDeliveries: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }),
      deadLetterFailures: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('revoke' as const), partition: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('flush' as const) }) },
);

describe('KeyedDispatcher properties', () => {
  it('per-key order, one handler per key, exact attempts, one settlement each, bounded in-flight, delays kept', async () => {
    await fc.assert(
      fc.asyncProperty(config, fc.array(op, { minLength: 1, maxLength: 40 }), async (c, ops) => {
        const retry = { maxAttempts: c.maxAttempts, initialDelayMs: c.initialDelayMs, maxDelayMs: c.maxDelayMs };
        const harness = new DispatcherHarness({ partitions: c.partitions, maxInFlight: c.maxInFlight, retry });
        for (const step of ops) {
          if (step.type === 'publish') {
            const spec: PublishSpec = {
              key: `k${step.key % c.keys}`,
              script: step.script,
              garbage: step.garbage,
              priorDeliveries: step.priorDeliveries,
              deadLetterFailures: step.deadLetterFailures,
            };
            harness.publish(spec);
          } else if (step.type === 'advance') harness.advance(step.ms);
          else if (step.type === 'revoke') harness.revoke(step.partition % c.partitions);
          else await harness.flush();
        }
        await harness.settleAll();

        expect(harness.violations).toEqual([]);
        expect(harness.revokesPending).toBe(0);
        for (const message of harness.messages) {
          const expected = expectedEnd(message, c.maxAttempts);
          // Exactly one settlement, the one its script leads to.
          expect(message.settlements, `settlements of ${message.id}`).toEqual([expected.settlement]);
          // Every attempt exactly once, counting up from the deliveries the backend reported.
          expect(message.attemptsSeen, `attempts of ${message.id}`).toEqual(expected.attempts);
          expect(message.deadLetters, `dead letters of ${message.id}`).toBe(expected.settlement === 'dead-lettered' ? 1 : 0);
          // A retry within one push waits at least its delay on the clock (a revoke may cut it short: a new push).
          for (let i = 1; i < message.runs.length; i += 1) {
            const [before, after] = [message.runs[i - 1]!, message.runs[i]!];
            if (before.push !== after.push) continue;
            const step = message.script[before.attempt - 1];
            const wanted = step?.settle === 'nack' && step.delayMs !== undefined ? step.delayMs : backoff(retry, before.attempt);
            expect(after.startedAt - before.endedAt!, `retry delay of ${message.id} after attempt ${before.attempt}`).toBeGreaterThanOrEqual(wanted);
          }
        }
        // Per key, settlements come in publish order.
        const keys = new Set(harness.messages.map((m) => m.key));
        for (const key of keys) {
          const published = harness.messages.filter((m) => m.key === key).map((m) => m.id);
          expect(harness.settledOrder.get(key), `settlement order of ${key}`).toEqual(published);
        }
        expect(harness.maxInFlightSeen).toBeLessThanOrEqual(c.maxInFlight);
        expect(harness.maxRunning).toBeLessThanOrEqual(c.maxInFlight);
        expect(harness.dispatcher.inFlight).toBe(0);
        expect(harness.dispatcher.capacity).toBe(c.maxInFlight);
        expect(await harness.dispatcher.drain(0)).toBe(true);
      }),
      {
        ...propertyParams<[Config, Op[]]>(500),
        examples: [
          // Found by seed 422775412: the last attempt's dead letter failed, the partition was
          // revoked, and the redelivery ran that attempt again (attempts 1, 2, 2).
          [
            { partitions: 1, keys: 1, maxInFlight: 1, maxAttempts: 2, initialDelayMs: 0, maxDelayMs: 0 },
            [
              { type: 'publish', key: 0, script: [{ settle: 'throw' }, { settle: 'nack' }], garbage: false, priorDeliveries: 0, deadLetterFailures: 1 },
              { type: 'advance', ms: 0 },
              { type: 'flush' },
              { type: 'revoke', partition: 0 },
              { type: 'publish', key: 0, script: [], garbage: false, priorDeliveries: 0, deadLetterFailures: 0 },
            ],
          ],
        ],
      },
    );
  }, 60_000);
});
