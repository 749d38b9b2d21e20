import { describe, expect, it, vi } from 'vitest';
import { brokerRetentionSchema, RetentionTrimmer, type TrimRound } from '../src/adapter.js';
import type { BusErrorEvent } from '../src/index.js';
import { recordingLogger } from './support/recording-logger.js';

const retention = brokerRetentionSchema.parse({ maxAgeMs: 60_000, intervalMs: 1_000, registry: false, topics: { kept: false, short: { maxAgeMs: 2_000 } } });

function trimmer(trim: TrimRound, onError: (event: BusErrorEvent) => void = () => {}) {
  const logger = recordingLogger();
  return { logger, trimmer: new RetentionTrimmer({ retention, trim, logger, events: { onError }, transport: 'test' }) };
}

describe('RetentionTrimmer', () => {
  it('trims every topic added, each with its own age limit; never a topic that keeps everything', async () => {
    const rounds: [string, number][][] = [];
    const { trimmer: t } = trimmer(async (targets) => {
      rounds.push([...targets]);
      return 3;
    });
    t.add('orders');
    t.add('short');
    t.add('kept');
    t.add('ns.registry');
    t.add('orders');
    expect(await t.trimNow()).toBe(3);
    expect(rounds).toEqual([
      [
        ['orders', 60_000],
        ['short', 2_000],
      ],
    ]);
    t.forget('orders');
    await t.trimNow();
    expect(rounds[1]).toEqual([['short', 2_000]]);
    await t.close();
  });

  it('runs every intervalMs on its own, one round at a time, and not after close', async () => {
    vi.useFakeTimers();
    try {
      let running = 0;
      let most = 0;
      let rounds = 0;
      const { trimmer: t } = trimmer(async () => {
        running += 1;
        most = Math.max(most, running);
        rounds += 1;
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        running -= 1;
        return 0;
      });
      t.add('orders');
      await vi.advanceTimersByTimeAsync(999);
      expect(rounds).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(rounds).toBe(1);
      await vi.advanceTimersByTimeAsync(5_000); // ticks during a round join it
      expect(most).toBe(1);
      const closing = t.close();
      await vi.advanceTimersByTimeAsync(10_000);
      await closing;
      const after = rounds;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(rounds).toBe(after);
      expect(await t.trimNow()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed round is reported as retention-failed (hook and logger) and the next one runs', async () => {
    const errors: BusErrorEvent[] = [];
    let fail = true;
    const { trimmer: t, logger } = trimmer(
      async () => {
        if (fail) throw new Error('broker away');
        return 1;
      },
      (event) => errors.push(event),
    );
    t.add('orders');
    await expect(t.trimNow()).rejects.toThrow('broker away');
    expect(errors).toEqual([expect.objectContaining({ kind: 'retention-failed', transport: 'test' })]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ kind: 'retention-failed' }) }));
    fail = false;
    expect(await t.trimNow()).toBe(1);
    await t.close();
  });

  it('with retention false nothing is ever trimmed', async () => {
    const trim = vi.fn(async () => 1);
    const t = new RetentionTrimmer({ retention: false, trim, logger: recordingLogger(), events: { onError() {} }, transport: 'test' });
    t.add('orders');
    expect(await t.trimNow()).toBe(0);
    expect(trim).not.toHaveBeenCalled();
  });
});
