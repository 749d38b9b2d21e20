export { createBusTelemetry, type BusTelemetry, type BusTelemetryOptions } from './telemetry.js';
export { traceTransport, type TracingOptions } from './tracing-transport.js';
export { BusMetrics } from './metrics.js';
export { messagingSystems } from './attributes.js';
