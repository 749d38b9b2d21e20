import { describe, expect, it } from 'vitest';
import { PendingEntries } from '../src/pending-entries.js';

const entry = (deliveries = 1) => ({ deliveries, holder: 'm' as string | undefined });

describe('PendingEntries', () => {
  it('keeps entries by offset, settles them in any order, and knows the oldest', () => {
    const pending = new PendingEntries();
    expect(pending.lowest()).toBeUndefined();
    for (const offset of [3, 4, 5, 7]) pending.add(offset, entry(offset));
    expect(pending.size).toBe(4);
    expect(pending.get(6)).toBeUndefined();
    expect(pending.get(7)?.deliveries).toBe(7);
    expect(pending.delete(4)).toBe(true);
    expect(pending.delete(4)).toBe(false);
    expect(pending.lowest()).toBe(3);
    expect(pending.delete(3)).toBe(true);
    expect(pending.lowest()).toBe(5); // the head moved past 3 and 4
    expect([...pending.entries()].map(([offset]) => offset)).toEqual([5, 7]);
    expect([...pending.values()].map((e) => e.deliveries)).toEqual([5, 7]);
    expect(pending.delete(2)).toBe(false);
    pending.delete(5);
    pending.delete(7);
    expect(pending.size).toBe(0);
    expect(pending.lowest()).toBeUndefined();
    pending.add(100, entry());
    expect(pending.lowest()).toBe(100);
  });

  it('refuses an offset at or before one added already', () => {
    const pending = new PendingEntries();
    pending.add(10, entry());
    expect(() => pending.add(10, entry())).toThrow(/out of order/);
    pending.add(11, entry());
    pending.delete(11);
    expect(() => pending.add(11, entry())).toThrow(/out of order/);
  });

  it('a long life of adds and settles behind one held entry keeps every offset right', () => {
    const pending = new PendingEntries();
    pending.add(0, entry());
    for (let offset = 1; offset < 100_000; offset += 1) {
      pending.add(offset, entry());
      pending.delete(offset);
    }
    expect(pending.size).toBe(1);
    expect(pending.lowest()).toBe(0);
    expect([...pending.entries()].map(([offset]) => offset)).toEqual([0]);
    pending.delete(0);
    expect(pending.lowest()).toBeUndefined();
    // The window is empty again: a later offset starts it afresh.
    pending.add(100_000, entry());
    expect([...pending.entries()].map(([offset]) => offset)).toEqual([100_000]);
  });
});
