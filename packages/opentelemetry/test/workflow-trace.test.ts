import { randomUUID } from 'node:crypto';
import { AgentBus, createTransport, type Transport } from '@a2a-bus/core';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBroker } from '../../../test/src/env.js';
import { createBusTelemetry } from '../src/index.js';
import { inMemoryTelemetry, total } from './support.js';

const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const backends: Array<{ name: string; url: string; overrides: Record<string, unknown>; hostPort?: string }> = [
  { name: 'memory', url: `memory://otel-${randomUUID().slice(0, 6)}`, overrides: {} },
  { name: 'redis-streams', url: redisUrl, overrides: { partitions: 2, blockMs: 200 }, hostPort: new URL(redisUrl).host },
  { name: 'nats', url: natsUrl, overrides: { partitions: 2 }, hostPort: new URL(natsUrl).host },
  {
    name: 'kafka',
    url: `kafka://${kafkaBrokers}`,
    overrides: { partitions: 2, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
    hostPort: kafkaBrokers.split(',')[0],
  },
];

const otel = inMemoryTelemetry();
afterAll(() => otel.shutdown());

for (const backend of backends) {
  const [host, port] = (backend.hostPort ?? '127.0.0.1:0').split(':') as [string, string];
  const skipReason = backend.hostPort ? await requireBroker(backend.name, host, Number(port)) : undefined;

  describe.skipIf(skipReason !== undefined)(`[${backend.name}] OpenTelemetry${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
    it('a three-step workflow across two bus instances is one trace of correctly parented spans; metric counts are exact', async () => {
      const namespace = `otel-${randomUUID().slice(0, 8)}`;
      const workflowId = `wf-${randomUUID().slice(0, 8)}`;
      const transports: Transport[] = [];
      const buses: AgentBus[] = [];
      // Two "processes", each with its own transport, telemetry and agent bus.
      const process = async (): Promise<AgentBus> => {
        const telemetry = createBusTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
        const transport = telemetry.instrument(await createTransport(backend.url, { ...backend.overrides, instrumentation: telemetry.instrumentation }));
        transports.push(transport);
        const bus = new AgentBus({ transport, namespace, agentTtlMs: 5_000, retry: { maxAttempts: 3, initialDelayMs: 10 } });
        buses.push(bus);
        return bus;
      };
      try {
        const first = await process();
        const second = await process();
        const card = (name: string, skill: string) => ({ name, description: name, version: '1.0.0', skills: [{ id: skill, name: skill, tags: [] }] });
        let thirdAttempts = 0;
        await first.registerAgent(card('one', 'wf.one'), { 'wf.one': async (ctx) => `one>${(await ctx.dispatch('wf.two', 'go on')).status.state}` });
        await second.registerAgent(card('two', 'wf.two'), { 'wf.two': async (ctx) => `two>${(await ctx.dispatch('wf.three', 'finish')).status.state}` });
        await second.registerAgent(card('three', 'wf.three'), {
          'wf.three': () => {
            thirdAttempts += 1;
            if (thirdAttempts === 1) throw new Error('transient');
            return 'three';
          },
        });
        const task = await first.dispatch('wf.one', 'start', { workflowId, timeoutMs: 60_000 });
        expect(task.status.state).toBe('TASK_STATE_COMPLETED');

        // --- traces: every span of the workflow, wherever it ran, shares one trace id.
        const tasks = (capability: string) => `${namespace}.tasks.${capability}`;
        await waitForSpans(() => spansOf(workflowId).filter((s) => s.name === `process ${tasks('wf.one')}`).length === 1);
        const spans = spansOf(workflowId);
        if (new Set(spans.map((s) => s.spanContext().traceId)).size !== 1)
          console.error(
            spans
              .map(
                (s) =>
                  `${s.spanContext().traceId.slice(0, 6)} ${s.spanContext().spanId.slice(0, 6)} <- ${s.parentSpanContext?.spanId.slice(0, 6)} ${s.name} ${s.attributes['a2a_bus.record.type']}`,
              )
              .join('\n'),
          );
        expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
        const one = (name: string, attempt?: number): ReadableSpan => {
          const found = spans.filter((s) => s.name === name && (attempt === undefined || s.attributes['messaging.message.delivery_count'] === attempt));
          expect(found, name).toHaveLength(1);
          return found[0]!;
        };
        const sendOne = one(`send ${tasks('wf.one')}`);
        const processOne = one(`process ${tasks('wf.one')}`);
        const sendTwo = one(`send ${tasks('wf.two')}`);
        const processTwo = one(`process ${tasks('wf.two')}`);
        const sendThree = one(`send ${tasks('wf.three')}`);
        const processThreeFailed = one(`process ${tasks('wf.three')}`, 1);
        const processThree = one(`process ${tasks('wf.three')}`, 2);
        // The dispatch starts the trace with its first record, the audit copy of the request
        // (written before the request so the audit trail is causally ordered); the request's
        // send is its child.
        const roots = spans.filter((s) => s.parentSpanContext === undefined);
        expect(roots.map((s) => s.name)).toEqual([`send ${namespace}.workflows`]);
        expect(sendOne.parentSpanContext?.spanId).toBe(roots[0]!.spanContext().spanId);
        const chain: Array<[ReadableSpan, ReadableSpan]> = [
          [processOne, sendOne],
          [sendTwo, processOne],
          [processTwo, sendTwo],
          [sendThree, processTwo],
          [processThreeFailed, sendThree],
          [processThree, sendThree],
        ];
        for (const [child, parent] of chain) expect(child.parentSpanContext?.spanId, `${child.name} under ${parent.name}`).toBe(parent.spanContext().spanId);
        // Replies to the callers: sent from the worker's process span, processed under that send.
        const replySends = spans.filter((s) => s.name === `send ${namespace}.replies` && s.parentSpanContext?.spanId === processThree.spanContext().spanId);
        expect(replySends.length).toBeGreaterThan(0);

        for (const span of [sendOne, sendTwo, sendThree]) {
          expect(span.kind).toBe(SpanKind.PRODUCER);
          expect(span.attributes).toMatchObject({
            'messaging.operation.type': 'send',
            'messaging.system': expect.any(String),
            'gen_ai.conversation.id': workflowId,
            'a2a.task.id': expect.any(String),
            'a2a.message.id': expect.any(String),
            'messaging.message.id': expect.any(String),
          });
        }
        for (const span of [processOne, processTwo, processThree]) {
          expect(span.kind).toBe(SpanKind.CONSUMER);
          expect(span.attributes).toMatchObject({
            'messaging.operation.type': 'process',
            'gen_ai.conversation.id': workflowId,
            'messaging.destination.partition.id': expect.any(String),
          });
          expect(span.attributes['messaging.consumer.group.name']).toMatch(/^agents\.wf\./);
          expect(span.links.map((l) => l.context.spanId)).toHaveLength(1);
        }
        expect(processThreeFailed.status.code).toBe(2); // ERROR
        expect(processThreeFailed.attributes['error.type']).toBe('Error');
        expect(processOne.attributes['a2a.task.id']).toBe(task.id);
        const system = { memory: 'a2a_bus_memory', kafka: 'kafka', 'redis-streams': 'redis_streams', nats: 'nats_jetstream' }[backend.name];
        expect(sendOne.attributes['messaging.system']).toBe(system);
        if (backend.name === 'kafka')
          expect(processOne.attributes).toMatchObject({ 'messaging.kafka.message.key': workflowId, 'messaging.kafka.offset': expect.any(Number) });

        // --- metrics: exact counts per task topic.
        const sent = await otel.points('messaging.client.sent.messages');
        const consumed = await otel.points('messaging.client.consumed.messages');
        const processed = await otel.points('messaging.process.duration');
        const retries = await otel.points('a2a_bus.retries');
        const redeliveries = await otel.points('a2a_bus.redeliveries');
        const dispatches = await otel.points('a2a_bus.dispatch.duration');
        for (const capability of ['wf.one', 'wf.two', 'wf.three']) {
          const where = { 'messaging.destination.name': tasks(capability) };
          const runs = capability === 'wf.three' ? 2 : 1;
          expect(total(sent, where), `sent to ${capability}`).toBe(1);
          expect(total(consumed, where), `consumed from ${capability}`).toBe(runs);
          expect(total(processed, where), `processed on ${capability}`).toBe(runs);
          expect(total(retries, where), `retries on ${capability}`).toBe(runs - 1);
          expect(total(redeliveries, where), `redeliveries on ${capability}`).toBe(runs - 1);
          expect(total(dispatches, { ...where, 'a2a_bus.capability': capability, 'a2a.task.state': 'completed' }), `dispatches of ${capability}`).toBe(1);
        }
        expect(total(processed, { 'messaging.destination.name': tasks('wf.three'), 'a2a_bus.settlement': 'nack' })).toBe(1);
        expect(total(sent, { 'messaging.destination.name': `${namespace}.workflows` })).toBeGreaterThanOrEqual(3);
      } finally {
        await Promise.allSettled(buses.map((b) => b.close()));
        await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 500 })));
      }
    }, 120_000);
  });
}

/** Spans about one workflow (its conversation id), finished so far. */
function spansOf(workflowId: string): ReadableSpan[] {
  return otel.finishedSpans().filter((s) => s.attributes['gen_ai.conversation.id'] === workflowId);
}

async function waitForSpans(done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); ) {
    if (Date.now() > deadline) throw new Error('spans did not arrive');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
