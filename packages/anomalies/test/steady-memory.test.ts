import { randomUUID } from 'node:crypto';
import { AnomalyDetector, type Anomaly } from '@a2a-bus/anomalies';
import { AgentBus } from '@a2a-bus/core';
import { createMemoryTransport } from '@a2a-bus/memory';
import { afterAll, describe, expect, it } from 'vitest';
import { card, pump } from './src/fault-suite.js';
import { delay } from './src/wait.js';

describe('[memory] a steady run raises no anomaly', () => {
  const namespace = `steady-${randomUUID().slice(0, 8)}`;
  const anomalies: Anomaly[] = [];
  const detector = new AnomalyDetector({ namespace, tickMs: 250, agent: 'steady-worker', onAnomaly: (a) => anomalies.push(a) }).start();
  const transport = createMemoryTransport({ name: namespace, instrumentation: detector.instrumentation });
  const bus = new AgentBus({ transport, namespace, agentTtlMs: 10_000 });
  let slow = false;

  afterAll(async () => {
    await bus.close();
    await transport.close();
    await detector.close();
  });

  it('10,000 dispatches with normal jitter (latency, payload size, rare retries): zero anomalies', async () => {
    let calls = 0;
    await bus.registerAgent(card('steady', 'work'), {
      work: async ({ attempt }) => {
        const call = ++calls;
        // 1-4 ms of work, and 1 call in 500 fails once and is retried: normal life.
        await delay(1 + Math.random() * 3 + (slow ? 1_000 : 0));
        if (attempt === 1 && call % 500 === 0) throw new Error('transient');
        return 'done';
      },
    });
    await pump(bus, 'work', 10_000, 16, (i) => `row ${i} ${'x'.repeat((i * 7919) % 400)}`);
    expect(anomalies.map((a) => a.message)).toEqual([]);
  }, 120_000);

  // At 16 in flight the memory run is CPU-bound: handler time is mostly event-loop queueing around 1-4 ms
  // of work (and far more on a loaded machine), so the control adds a clear 1 s (the 10x cases run on
  // real brokers in the fault suite).
  it('the same detector was armed: handlers turning 1 s slower afterwards are caught', async () => {
    slow = true;
    await pump(
      bus,
      'work',
      400,
      16,
      () => 'go',
      () => anomalies.some((a) => a.kind === 'handler-latency'),
    );
    expect(
      anomalies.map((a) => a.kind),
      JSON.stringify(detector.seriesOf('work').latency.state()),
    ).toContain('handler-latency');
  }, 60_000);
});
