import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { expect, it } from 'vitest';
import { contextFrom, traceparentOf } from '../src/traceparent.js';

it('traceparent round-trips a span context and refuses malformed values', () => {
  const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
  const traceparent = traceparentOf(trace.setSpanContext(ROOT_CONTEXT, spanContext));
  expect(traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  expect(trace.getSpanContext(contextFrom(traceparent))).toEqual({ ...spanContext, isRemote: true });
  for (const bad of [
    undefined,
    '',
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz',
  ]) {
    expect(contextFrom(bad)).toBe(ROOT_CONTEXT);
  }
  expect(traceparentOf(ROOT_CONTEXT)).toBeUndefined();
});
