import type { AgentBus, ConsumerLag, Instrumentation, LagQuery, Transport } from '@a2a-bus/core';
import { parseOptions } from '@a2a-bus/core/adapter';
import { metrics, trace, type Meter, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { z } from 'zod';
import { messagingSystem } from './attributes.js';
import { BusMetrics } from './metrics.js';
import { traceTransport } from './tracing-transport.js';

const scope = '@a2a-bus/opentelemetry';

const telemetryOptionsSchema = z.strictObject({
  /** Default: the global tracer provider (what the OpenTelemetry Node SDK registers). */
  tracerProvider: z.custom<TracerProvider>((v) => typeof v === 'object' && v !== null && 'getTracer' in v, 'a TracerProvider').optional(),
  /** Default: the global meter provider. */
  meterProvider: z.custom<MeterProvider>((v) => typeof v === 'object' && v !== null && 'getMeter' in v, 'a MeterProvider').optional(),
  /** Topics to trace; default all but `<namespace>.registry` and `.control` (heartbeats and cancels). */
  traceTopic: z.custom<(topic: string) => boolean>((v) => typeof v === 'function', 'a function (topic) => boolean').optional(),
  tracing: z.boolean().default(true),
  metrics: z.boolean().default(true),
});

export type BusTelemetryOptions = z.input<typeof telemetryOptionsSchema>;

const defaultTraceTopic = (topic: string): boolean => !/\.(registry|control)$/.test(topic);

/**
 * OpenTelemetry for a2a-bus. Pass `instrumentation` to the transport (metrics), wrap the
 * transport with `instrument` (traces, and dispatch durations), and optionally observe
 * consumer lag and live agents:
 *
 *   const telemetry = createBusTelemetry();
 *   const transport = telemetry.instrument(await createTransport(url, { instrumentation: telemetry.instrumentation }));
 */
export interface BusTelemetry {
  /** Metrics from the transport's events; give it to `createTransport(url, { instrumentation })`. */
  readonly instrumentation: Instrumentation;
  /** The transport with send/process spans and `traceparent` on every envelope it publishes. */
  instrument<T extends Transport>(transport: T): T;
  /** Reports `a2a_bus.consumer.lag` / `.pending` per group and partition, read at each collection. */
  observeLag(transport: Transport, query?: LagQuery): void;
  /** Reports `a2a_bus.agents.live`: the agents the bus's registry sees alive. */
  observeAgents(bus: AgentBus): void;
}

export function createBusTelemetry(options: BusTelemetryOptions = {}): BusTelemetry {
  const config = parseOptions('opentelemetry', telemetryOptionsSchema, options);
  const meter: Meter = (config.meterProvider ?? metrics.getMeterProvider()).getMeter(scope);
  const tracer = (config.tracerProvider ?? trace.getTracerProvider()).getTracer(scope);
  const busMetrics = config.metrics ? new BusMetrics(meter) : undefined;
  const lagSources: Array<{ transport: Transport; query: LagQuery }> = [];
  const buses: AgentBus[] = [];

  if (config.metrics) {
    const lag = meter.createObservableGauge('a2a_bus.consumer.lag', {
      unit: '{message}',
      description: 'Records a consumer group has not acknowledged, per partition',
    });
    const pending = meter.createObservableGauge('a2a_bus.consumer.pending', {
      unit: '{message}',
      description: 'Delivered, unacknowledged records per partition (where the backend tracks it)',
    });
    meter.addBatchObservableCallback(
      async (result) => {
        for (const { transport, query } of lagSources) {
          let entries: ConsumerLag[];
          try {
            entries = (await transport.inspectLag?.(query)) ?? [];
          } catch {
            continue; // a broker hiccup skips one collection
          }
          for (const entry of entries) report(result, transport.backend, entry, lag, pending);
        }
      },
      [lag, pending],
    );
    meter.createObservableGauge('a2a_bus.agents.live', { unit: '{agent}', description: 'Agents the registry sees alive' }).addCallback((result) => {
      for (const bus of buses) result.observe(bus.agents().length, { 'a2a_bus.instance': bus.instanceId });
    });
  }

  return {
    instrumentation: busMetrics?.instrumentation ?? {},
    instrument(transport) {
      if (!config.tracing && !busMetrics) return transport;
      return traceTransport(transport, {
        ...(config.tracing ? { tracer } : {}),
        traceTopic: config.traceTopic ?? defaultTraceTopic,
        ...(busMetrics
          ? {
              observe: {
                published: (topic, envelope) => busMetrics.requestPublished(topic, envelope),
                received: (topic, delivery) => busMetrics.replyReceived(topic, delivery),
              },
            }
          : {}),
      });
    },
    observeLag(transport, query = {}) {
      lagSources.push({ transport, query });
    },
    observeAgents(bus) {
      buses.push(bus);
    },
  };
}

function report(
  result: { observe(metric: unknown, value: number, attributes: Record<string, string | number>): void },
  backend: string,
  entry: ConsumerLag,
  lag: unknown,
  pending: unknown,
): void {
  const attributes = {
    'messaging.system': messagingSystem(backend),
    'messaging.destination.name': entry.topic,
    'messaging.consumer.group.name': entry.group,
    'messaging.destination.partition.id': String(entry.partition),
  };
  result.observe(lag, entry.lag, attributes);
  if (entry.pending !== undefined) result.observe(pending, entry.pending, attributes);
}
