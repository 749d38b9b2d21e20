import { type Context, isSpanContextValid, isValidSpanId, isValidTraceId, ROOT_CONTEXT, trace } from '@opentelemetry/api';

/**
 * W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) to and from a context. Written out
 * rather than through W3CTraceContextPropagator: this runs twice per message, and the
 * envelope carries only `traceparent` (no `tracestate`), which is all the propagator adds.
 */
export function traceparentOf(context: Context): string | undefined {
  const span = trace.getSpanContext(context);
  if (!span || !isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A context whose remote parent is `traceparent`; ROOT when it is absent or malformed. */
export function contextFrom(traceparent: string | undefined): Context {
  if (traceparent?.length !== 55) return ROOT_CONTEXT;
  const [version, traceId = '', spanId = '', flags = ''] = traceparent.split('-');
  if (version === 'ff' || !isValidTraceId(traceId) || !isValidSpanId(spanId) || !/^[\da-f]{2}$/.test(flags)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true });
}

/** Whether `context` holds a span (local or remote) to parent on. */
export function hasSpan(context: Context): boolean {
  return trace.getSpanContext(context) !== undefined;
}
