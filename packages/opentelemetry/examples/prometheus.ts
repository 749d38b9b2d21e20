import { AgentBus, createTransport } from '@a2a-bus/core';
import { createBusTelemetry } from '@a2a-bus/opentelemetry';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

// A Prometheus scrape endpoint for the bus's metrics: http://127.0.0.1:9464/metrics by default.
const port = Number(process.env.METRICS_PORT ?? 9464);
const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
const telemetry = createBusTelemetry({ meterProvider: new MeterProvider({ readers: [exporter] }), tracing: false });
const transport = await createTransport(process.env.A2A_BUS_URL ?? 'memory://metrics', { instrumentation: telemetry.instrumentation });
const bus = new AgentBus({ transport });
telemetry.observeLag(transport);
telemetry.observeAgents(bus);
await bus.registerAgent(
  { name: 'echo', description: 'echoes', version: '1.0.0', skills: [{ id: 'text.echo', name: 'Echo', tags: [] }] },
  { 'text.echo': (task) => `echo ${task.taskId}` },
);
for (let i = 0; i < 5; i += 1) await bus.dispatch('text.echo', `hello ${i}`);

// What a Prometheus server would scrape now: messages sent to and consumed from the task topic.
const scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const counter = /^(messaging_client_(?:sent|consumed)_messages_total)\{.*messaging_destination_name="a2a\.tasks\.text\.echo".*\} (\d+)$/;
for (const match of scraped.split('\n').map((line) => counter.exec(line))) if (match) console.log(`${match[1]} a2a.tasks.text.echo ${match[2]}`);

await bus.close();
await transport.close();
await exporter.shutdown();
