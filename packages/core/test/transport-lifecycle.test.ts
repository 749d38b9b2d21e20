import { describe, expect, it } from 'vitest';
import { TransportLifecycle } from '../src/adapter.js';
import { BrokerUnreachableError, TransportClosedError } from '../src/index.js';

const lifecycle = (connectTimeoutMs = 200): TransportLifecycle => new TransportLifecycle({ scope: 'test', address: '127.0.0.1:1', connectTimeoutMs });

describe('TransportLifecycle', () => {
  it('a refused connection fails at once, saying how long it actually waited and why', async () => {
    const error = await lifecycle(5_000)
      .connect(
        () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
        () => {},
      )
      .catch((e: unknown) => e);
    expect(BrokerUnreachableError.isInstance(error)).toBe(true);
    const unreachable = error as BrokerUnreachableError;
    expect(unreachable.address).toBe('127.0.0.1:1');
    expect(unreachable.waitedMs).toBeLessThan(5_000);
    expect(unreachable.message).toMatch(/cannot reach 127\.0\.0\.1:1: failed after \d+ ms \(limit 5000 ms\): connect ECONNREFUSED/);
  });

  it('a silent broker fails after the limit, and a late success is handed back to be torn down', async () => {
    let lateConnect: (value: string) => void = () => {};
    let abandoned: Promise<string> | undefined;
    const error = await lifecycle(100)
      .connect(
        () => new Promise<string>((resolve) => (lateConnect = resolve)),
        (late) => (abandoned = late),
      )
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no answer within 100 ms/);
    expect((error as BrokerUnreachableError).waitedMs).toBeGreaterThanOrEqual(99);
    lateConnect('client');
    await expect(abandoned).resolves.toBe('client');
  });

  it('closes once, however often and concurrently asked, and refuses work afterwards', async () => {
    const life = lifecycle();
    let closes = 0;
    const close = async (): Promise<void> => {
      closes += 1;
    };
    expect(() => life.assertOpen('publish')).not.toThrow();
    await Promise.all([life.close(close), life.close(close), life.close(close)]);
    expect(closes).toBe(1);
    expect(life.closed).toBe(true);
    expect(() => life.assertOpen('publish')).toThrow(TransportClosedError);
    expect(() => life.assertOpen('publish')).toThrow(/cannot publish: the transport is closed/);
  });
});
