import { randomUUID } from 'node:crypto';
import { AgentBus, createTransport } from '@a2a-bus/core';
import { afterAll, expect, it } from 'vitest';
import { createBusTelemetry } from '../src/index.js';
import { inMemoryTelemetry, total } from './support.js';

const otel = inMemoryTelemetry();
afterAll(() => otel.shutdown());

it('consumer lag and live agents are observed at collection; tracing off leaves envelopes without traceparent', async () => {
  const telemetry = createBusTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider, tracing: false });
  const transport = telemetry.instrument(
    await createTransport(`memory://gauges-${randomUUID().slice(0, 6)}`, { partitions: 2, instrumentation: telemetry.instrumentation }),
  );
  telemetry.observeLag(transport, { topic: 'orders' });
  const bus = new AgentBus({ transport, namespace: 'gauges' });
  telemetry.observeAgents(bus);
  await bus.registerAgent({ name: 'a', description: 'a', version: '1', skills: [{ id: 'x.y', name: 'x', tags: [] }] }, { 'x.y': () => 'ok' });

  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const seen: Array<string | undefined> = [];
  await transport.subscribe(
    'orders',
    async (d) => {
      seen.push(d.envelope.traceparent);
      await held;
    },
    { group: 'billing' },
  );
  for (let i = 0; i < 5; i += 1)
    await transport.publish('orders', { kind: 'message', key: 'one-key', payload: { messageId: `m${i}`, role: 'ROLE_USER', parts: [{ text: 'x' }] } });
  await new Promise((resolve) => setTimeout(resolve, 50));

  const group = { 'messaging.destination.name': 'orders', 'messaging.consumer.group.name': 'billing' };
  expect(total(await otel.points('a2a_bus.consumer.lag'), group)).toBe(5);
  expect(total(await otel.points('a2a_bus.consumer.pending'), group)).toBe(5); // all handed to the consumer, none acknowledged
  expect(total(await otel.points('a2a_bus.in_flight'), group)).toBe(1);
  expect(total(await otel.points('a2a_bus.agents.live'), { 'a2a_bus.instance': bus.instanceId })).toBe(1);
  release();
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(total(await otel.points('a2a_bus.consumer.lag'), group)).toBe(0);
  expect(total(await otel.points('messaging.client.consumed.messages'), group)).toBe(5);
  expect(total(await otel.points('a2a_bus.in_flight'), group)).toBe(0);
  expect(seen).toEqual(Array(5).fill(undefined));
  expect(otel.finishedSpans()).toEqual([]);
  await bus.close();
  await transport.close();
});
