import { randomUUID } from 'node:crypto';
import { createTransport, type Transport } from '@a2a-bus/core';
import { createBusTelemetry } from '@a2a-bus/opentelemetry';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { pipelined } from './harness.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const mode = process.argv[2] ?? 'off';
const count = 20_000;
async function run(): Promise<number> {
  let transport: Transport;
  if (mode === 'off') transport = await createTransport('memory://p', { partitions: 4 });
  else {
    const exporter = new InMemorySpanExporter();
    const processor = mode.includes('batch') ? new BatchSpanProcessor({ exporter }) : new SimpleSpanProcessor({ exporter });
    const telemetry = createBusTelemetry({ tracerProvider: new TracerProvider({ spanProcessors: [processor] }), meterProvider: new MeterProvider(), tracing: !mode.includes('metrics-only'), metrics: !mode.includes('traces-only') });
    transport = telemetry.instrument(await createTransport('memory://p', { partitions: 4, instrumentation: telemetry.instrumentation }));
  }
  const topic = `t-${randomUUID()}`;
  let handled = 0;
  let finished = (): void => {};
  const done = new Promise<void>((r) => (finished = r));
  await transport.subscribe(topic, () => { if (++handled === count) finished(); }, { group: 'g', maxInFlight: 1024 });
  const t0 = performance.now();
  await pipelined(count, 256, (i) => transport.publish(topic, { kind: 'message', key: `k${i % 64}`, payload: { messageId: `m${i}`, role: 'ROLE_USER', parts: [{ text: 'x'.repeat(1024) }] } }));
  await done;
  const s = (performance.now() - t0) / 1000;
  await transport.close();
  return count / s;
}
await run();
console.log(mode, Math.round(await run()));
