import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyLanes, type KeyLane } from '../src/consumer/key-lanes.js';
import { propertyParams } from './support/fast-check.js';

// The dispatcher's lanes on their own: one lane per (partition, key), kept while it is busy,
// forgotten with its partition, and idle ones swept every 1,024 lanes gone idle.

const SWEEP_EVERY = 1_024;

/** Reports `times` lanes gone idle (the lane passed does not matter to the count). */
function goIdle<R>(lanes: KeyLanes<R>, lane: KeyLane<R>, times: number): void {
  for (let i = 0; i < times; i += 1) lanes.forget(lane);
}

/**
 * The lane a record of `key` in `partition` goes to, as it is once that record ran and left:
 * `push` then take the record off again (records already queued stay).
 */
function laneOf<R>(lanes: KeyLanes<R>, partition: number, key: string): KeyLane<R> {
  const lane = lanes.push(partition, key, undefined as R);
  lane.records.pop();
  return lane;
}

const ids = (lanes: KeyLanes<unknown>): string[] => [...lanes.all()].map((lane) => `${lane.partition}/${lane.id}`).sort();

describe('KeyLanes', () => {
  it('push creates the lane of a new key holding the record, and appends to the same lane for the same partition and key', () => {
    const lanes = new KeyLanes<string>();
    const lane = lanes.push(3, 'wf-1', 'r1');
    expect(lane).toMatchObject({ id: 'wf-1', partition: 3, records: ['r1'], running: false });
    expect(lane.waiters).toBeUndefined();
    expect(lanes.push(3, 'wf-1', 'r2')).toBe(lane);
    expect(lane.records).toEqual(['r1', 'r2']);
    expect(ids(lanes)).toEqual(['3/wf-1']);
  });

  it('keeps one lane per partition and key: the same key in another partition is another lane', () => {
    const lanes = new KeyLanes<string>();
    const a0 = laneOf(lanes, 0, 'a');
    const a1 = laneOf(lanes, 1, 'a');
    const b0 = laneOf(lanes, 0, 'b');
    expect(new Set([a0, a1, b0]).size).toBe(3);
    expect([a0.partition, a1.partition, b0.partition]).toEqual([0, 1, 0]);
    expect(ids(lanes)).toEqual(['0/a', '0/b', '1/a']);
  });

  it('lists nothing before any lane was asked for', () => {
    expect([...new KeyLanes<string>().all()]).toEqual([]);
  });

  it('detach forgets every lane of that partition only; a key asked for again gets a fresh lane', () => {
    const lanes = new KeyLanes<string>();
    const stale = laneOf(lanes, 1, 'k');
    stale.running = true;
    stale.records.push('stale');
    const other = laneOf(lanes, 2, 'k');
    laneOf(lanes, 1, 'j');
    lanes.detach(1);
    expect(ids(lanes)).toEqual(['2/k']);
    const fresh = laneOf(lanes, 1, 'k');
    expect(fresh).not.toBe(stale);
    expect(fresh).toMatchObject({ running: false, records: [] });
    expect(laneOf(lanes, 2, 'k')).toBe(other);
    // The stale lane is untouched: its handler finishes on its own.
    expect(stale).toMatchObject({ running: true, records: ['stale'] });
    lanes.detach(7); // a partition never seen: nothing happens
    expect(ids(lanes)).toEqual(['1/k', '2/k']);
  });

  it('keeps idle lanes until 1,024 lanes went idle, then drops the idle ones in every partition', () => {
    const lanes = new KeyLanes<string>();
    const idle0 = laneOf(lanes, 0, 'idle');
    const idle1 = laneOf(lanes, 1, 'idle');
    laneOf(lanes, 1, 'idle-too');
    goIdle(lanes, idle0, SWEEP_EVERY - 1);
    expect(ids(lanes)).toEqual(['0/idle', '1/idle', '1/idle-too']);
    expect(laneOf(lanes, 0, 'idle')).toBe(idle0);
    goIdle(lanes, idle0, 1);
    expect(ids(lanes)).toEqual([]);
    expect(laneOf(lanes, 0, 'idle')).not.toBe(idle0);
    expect(laneOf(lanes, 1, 'idle')).not.toBe(idle1);
  });

  it('a sweep keeps a lane that runs or still holds records', () => {
    const lanes = new KeyLanes<string>();
    const running = laneOf(lanes, 0, 'running');
    running.running = true;
    const queued = laneOf(lanes, 0, 'queued');
    queued.records.push('q1');
    const both = laneOf(lanes, 2, 'both');
    both.running = true;
    both.records.push('b1');
    laneOf(lanes, 0, 'idle');
    laneOf(lanes, 2, 'idle');
    goIdle(lanes, running, SWEEP_EVERY);
    expect(ids(lanes)).toEqual(['0/queued', '0/running', '2/both']);
    expect(laneOf(lanes, 0, 'running')).toBe(running);
    expect(laneOf(lanes, 0, 'queued')).toBe(queued);
    expect(laneOf(lanes, 2, 'both')).toBe(both);
  });

  it('counts again from zero after a sweep: the next one comes 1,024 idle lanes later', () => {
    const lanes = new KeyLanes<string>();
    const lane = laneOf(lanes, 0, 'k');
    goIdle(lanes, lane, SWEEP_EVERY);
    const next = laneOf(lanes, 0, 'k');
    expect(next).not.toBe(lane);
    goIdle(lanes, next, SWEEP_EVERY - 1);
    expect(laneOf(lanes, 0, 'k')).toBe(next);
    goIdle(lanes, next, 1);
    expect(ids(lanes)).toEqual([]);
  });

  it('against a model: a lane lives until its partition is detached or a sweep finds it idle', () => {
    type Op =
      | { type: 'lane'; partition: number; key: string }
      | { type: 'busy'; partition: number; key: string; running: boolean; records: number }
      | { type: 'forget'; times: number }
      | { type: 'detach'; partition: number };
    const partition = fc.integer({ min: 0, max: 3 });
    const key = fc.constantFrom('a', 'b', 'c');
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ type: fc.constant('lane' as const), partition, key }),
      fc.record({ type: fc.constant('busy' as const), partition, key, running: fc.boolean(), records: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ type: fc.constant('forget' as const), times: fc.integer({ min: 1, max: 700 }) }),
      fc.record({ type: fc.constant('detach' as const), partition }),
    );
    // The lane reported idle does not decide what a sweep drops.
    const outsider: KeyLane<number> = { id: 'x', partition: 0, records: [], running: false };
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const lanes = new KeyLanes<number>();
        // The model: the lane object expected per "partition/key", and lanes gone idle since the last sweep.
        const model = new Map<string, KeyLane<number>>();
        let idle = 0;
        for (const o of ops) {
          if (o.type === 'lane' || o.type === 'busy') {
            const name = `${o.partition}/${o.key}`;
            const lane = laneOf(lanes, o.partition, o.key);
            const expected = model.get(name);
            if (expected) expect(lane).toBe(expected);
            else expect(lane).toMatchObject({ id: o.key, partition: o.partition, running: false, records: [] });
            model.set(name, lane);
            if (o.type === 'busy') {
              lane.running = o.running;
              lane.records.splice(0, lane.records.length, ...Array.from({ length: o.records }, (_, i) => i));
            }
          } else if (o.type === 'detach') {
            for (const name of [...model.keys()]) if (name.startsWith(`${o.partition}/`)) model.delete(name);
            lanes.detach(o.partition);
          } else {
            for (let i = 0; i < o.times; i += 1) {
              idle += 1;
              if (idle === SWEEP_EVERY) {
                idle = 0;
                for (const [name, lane] of model) if (!lane.running && lane.records.length === 0) model.delete(name);
              }
            }
            goIdle(lanes, outsider, o.times);
          }
          expect(ids(lanes)).toEqual([...model.keys()].sort());
        }
      }),
      propertyParams(200),
    );
  });
});
