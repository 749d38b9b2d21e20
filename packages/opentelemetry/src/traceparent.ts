import { type Context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

/** The W3C `traceparent` of the span active in `context`, if there is one. */
export function traceparentOf(context: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(context, carrier, { set: (c, key, value) => void (c[key] = value) });
  return carrier.traceparent;
}

/** A context whose remote parent is `traceparent`; ROOT when it is absent or malformed. */
export function contextFrom(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, { get: (c, key) => c[key as 'traceparent'], keys: (c) => Object.keys(c) });
}

/** Whether `context` holds a span (local or remote) to parent on. */
export function hasSpan(context: Context): boolean {
  return trace.getSpanContext(context) !== undefined;
}
