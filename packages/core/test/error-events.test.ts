import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/clock.js';
import { KeyedDispatcher } from '../src/consumer/keyed-dispatcher.js';
import type { DispatcherBackend, InboundRecord } from '../src/consumer/dispatcher-types.js';
import { PartitionBalancer, type LeaseStore } from '../src/consumer/partition-balancer.js';
import { createEnvelope } from '../src/envelope.js';
import { safeInstrumentation, type BusErrorEvent } from '../src/instrumentation.js';
import type { Logger } from '../src/logger.js';
import { defaultRetryPolicy, type MessageHandler } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';

function record(offset: number): InboundRecord {
  const envelope = createEnvelope({ kind: 'message', key: `k${offset}`, payload: { messageId: `m${offset}`, role: 'ROLE_USER', parts: [{ text: 'x' }] } });
  return { partition: 0, offset: String(offset), key: envelope.key, value: envelope, attempt: 1, bytes: undefined };
}

function dispatcher(backend: DispatcherBackend<InboundRecord>, handler: MessageHandler, errors: BusErrorEvent[], logger: Logger, keepAliveMs?: number) {
  const events = safeInstrumentation({ onError: (event) => void errors.push(event) }, logger);
  const d = new KeyedDispatcher({
    transport: 'test',
    topic: 'orders',
    group: 'billing',
    handler,
    maxInFlight: 8,
    retry: { ...defaultRetryPolicy, maxAttempts: 1 },
    deadLetterTopic: 'orders.dlq',
    backend,
    events,
    logger,
    clock: systemClock,
    ...(keepAliveMs ? { keepAliveMs } : {}),
  });
  d.assign(0);
  return d;
}

const until = async (check: () => boolean): Promise<void> => {
  for (const deadline = Date.now() + 5_000; !check(); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('no silent failures: onError and a log line', () => {
  it('a failed settle (commit / XACK) is reported as settle-failed, at warn', async () => {
    const errors: BusErrorEvent[] = [];
    const logger = recordingLogger();
    const d = dispatcher({ settle: () => Promise.reject(new Error('XACK refused')), publishDeadLetter: async () => {} }, () => {}, errors, logger);
    d.push(record(7));
    await until(() => errors.length > 0);
    expect(errors).toEqual([
      expect.objectContaining({
        kind: 'settle-failed',
        transport: 'test',
        topic: 'orders',
        group: 'billing',
        partition: 0,
        error: expect.objectContaining({ message: 'XACK refused' }),
      }),
    ]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ kind: 'settle-failed' }) }));
    await d.drain(1_000);
  });

  it('a failed dead-letter write is reported as dead-letter-failed, at error, and retried until it lands', async () => {
    const errors: BusErrorEvent[] = [];
    const logger = recordingLogger();
    let refusals = 1;
    const written: string[] = [];
    const d = dispatcher(
      {
        settle: () => {},
        publishDeadLetter: async (topic) => {
          if (refusals-- > 0) throw new Error('broker down');
          written.push(topic);
        },
      },
      () => {
        throw new Error('handler failed');
      },
      errors,
      logger,
    );
    d.push(record(1));
    await until(() => written.length === 1);
    expect(errors.map((e) => e.kind)).toEqual(['dead-letter-failed']);
    expect(errors[0]!.message).toContain('orders.dlq');
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ kind: 'dead-letter-failed' }) }));
    await d.drain(1_000);
  });

  it('a failed keep-alive (working(), heartbeat) is reported as heartbeat-failed', async () => {
    const errors: BusErrorEvent[] = [];
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const d = dispatcher(
      {
        settle: () => {},
        publishDeadLetter: async () => {},
        keepAlive: () => {
          throw new Error('working() failed');
        },
      },
      () => held,
      errors,
      recordingLogger(),
      20,
    );
    d.push(record(3));
    await until(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ kind: 'heartbeat-failed', topic: 'orders', group: 'billing' });
    release();
    await d.drain(1_000);
  });

  it('a lost partition lease and a failed renewal round are reported', async () => {
    const clock = new ManualClock();
    const leases = new Map<number, string>();
    let failing = false;
    const store: LeaseStore = {
      heartbeat: async (member) => {
        if (failing) throw new Error('store unreachable');
        return [member];
      },
      leave: async () => {},
      acquire: async (partition, member) => {
        if (failing) throw new Error('store unreachable');
        const holder = leases.get(partition);
        if (holder && holder !== member) return false;
        leases.set(partition, member);
        return true;
      },
      release: async (partition) => void leases.delete(partition),
    };
    const reported: Array<{ kind: string; partition?: number }> = [];
    const balancer = new PartitionBalancer({
      store,
      member: 'a',
      partitions: 1,
      leaseTtlMs: 1_000,
      intervalMs: 200,
      onAssigned: () => {},
      onRevoked: async () => {},
      logger: recordingLogger(),
      clock,
      onError: (event) => void reported.push(event),
    });
    await balancer.start();
    expect(balancer.assigned).toEqual([0]);
    failing = true;
    for (let i = 0; i < 6; i += 1) {
      clock.advance(200);
      for (let j = 0; j < 20; j += 1) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(reported.map((e) => e.kind)).toContain('heartbeat-failed');
    expect(reported).toContainEqual(expect.objectContaining({ kind: 'lease-lost', partition: 0 }));
    await balancer.stop({ release: false });
  });
});
