import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckedPrefix } from '../src/consumer/acked-prefix.js';
import { propertyParams } from './support/fast-check.js';

/** The rule, written the slow and obvious way: every tracked offset with its settled flag. */
class PrefixModel {
  readonly entries: { offset: bigint; settled: boolean }[] = [];
  position: bigint;
  constructor(position: bigint) {
    this.position = position;
  }
  track(offset: bigint): void {
    const open = this.entries.filter((e) => e.offset >= this.position);
    const last = open.length > 0 ? open[open.length - 1]!.offset : this.position - 1n;
    if (offset > last) this.entries.push({ offset, settled: false });
  }
  settle(offset: bigint): bigint | undefined {
    const entry = this.entries.find((e) => e.offset === offset && e.offset >= this.position);
    if (!entry || entry.settled) return undefined;
    entry.settled = true;
    const before = this.position;
    for (const e of this.entries) {
      if (e.offset < this.position) continue;
      if (!e.settled) break;
      this.position = e.offset + 1n;
    }
    return this.position === before ? undefined : this.position;
  }
  get settledAhead(): bigint[] {
    return this.entries.filter((e) => e.offset >= this.position && e.settled).map((e) => e.offset);
  }
  get outstanding(): number {
    return this.entries.filter((e) => e.offset >= this.position).length;
  }
}

type Op = { type: 'track'; gap: number } | { type: 'retrack'; back: number } | { type: 'settle'; pick: number } | { type: 'stray'; offset: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('track' as const), gap: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('retrack' as const), back: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('settle' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('stray' as const), offset: fc.integer({ min: -2, max: 80 }) }) },
);

describe('AckedPrefix properties', () => {
  it('agrees with the obvious model on any sequence of tracks, settles, re-fetches and stray settles', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.array(op, { maxLength: 80 }), (start, ops) => {
        const prefix = new AckedPrefix(BigInt(start));
        const model = new PrefixModel(BigInt(start));
        let next = BigInt(start);
        for (const o of ops) {
          if (o.type === 'track') {
            next += BigInt(o.gap - 1);
            prefix.track(next);
            model.track(next);
            next += 1n;
          } else if (o.type === 'retrack') {
            const offset = next - 1n - BigInt(o.back);
            prefix.track(offset);
            model.track(offset);
          } else {
            const tracked = model.entries.map((e) => e.offset);
            const offset = o.type === 'settle' ? (tracked.length ? tracked[o.pick % tracked.length]! : 0n) : BigInt(start + o.offset);
            expect(prefix.settle(offset), `settle(${offset})`).toBe(model.settle(offset));
          }
          expect(prefix.commitPosition).toBe(model.position);
          expect(prefix.outstanding).toBe(model.outstanding);
          expect(prefix.settledAhead()).toEqual(model.settledAhead);
        }
      }),
      propertyParams(1_000),
    );
  });

  it('a settle of an offset not yet tracked is ignored: tracked later, it still waits for its own settle', () => {
    const prefix = new AckedPrefix(0n);
    prefix.track(0n);
    expect(prefix.settle(1n)).toBeUndefined();
    prefix.track(1n);
    expect(prefix.settle(0n)).toBe(1n); // not 2: the early settle of 1 did not count
    expect(prefix.outstanding).toBe(1);
    expect(prefix.settle(1n)).toBe(2n);
  });

  it('a re-fetch of the last tracked offset is not tracked twice', () => {
    const prefix = new AckedPrefix(0n);
    prefix.track(0n);
    prefix.track(0n);
    expect(prefix.outstanding).toBe(1);
    expect(prefix.settle(0n)).toBe(1n);
    expect(prefix.outstanding).toBe(0);
    prefix.track(0n); // below the committed position now
    expect(prefix.outstanding).toBe(0);
  });

  it('keeps its answers over many thousands of offsets (the tracked list is compacted as it goes)', () => {
    const prefix = new AckedPrefix(0n);
    for (let i = 0n; i < 5_000n; i += 1n) {
      prefix.track(i);
      expect(prefix.settle(i)).toBe(i + 1n);
    }
    expect(prefix.outstanding).toBe(0);
    prefix.track(5_000n);
    prefix.track(5_001n);
    expect(prefix.settle(5_001n)).toBeUndefined();
    expect(prefix.settle(5_000n)).toBe(5_002n);
  });
});
