import {
  runtimeHeaders,
  type Delivery,
  type EnvelopeInput,
  type MessageHandler,
  type PublishReceipt,
  type SubscribeOptions,
  type Transport,
} from '@a2a-bus/core';
import { context, type Context, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { destinationAttributes, envelopeAttributes, errorType } from './attributes.js';
import { contextFrom, hasSpan, traceparentOf } from './traceparent.js';

/** Root traces remembered per task id, for the task's later records. */
const maxRoots = 1_000;

export interface TracingOptions {
  /** Absent: no spans (only `observe` is called). */
  readonly tracer?: Tracer;
  /** Topics to trace. Default: all but the registry and control topics (heartbeats would each start a trace). */
  readonly traceTopic: (topic: string) => boolean;
  /** Called with each request publish and each reply a handler receives (dispatch-duration metrics use it). */
  readonly observe?: {
    published(topic: string, envelope: EnvelopeInput): void;
    received(topic: string, delivery: Delivery): void;
  };
}

/**
 * The transport, traced: every publish is a `send <topic>` PRODUCER span whose context
 * travels on the envelope as `traceparent`; every handler run is a `process <topic>`
 * CONSUMER span, child of the sender's span, and active while the handler runs, so what
 * the handler publishes (the next step of a workflow, a reply) is its child. One workflow
 * is one trace, across processes and backends. Everything else passes through untouched.
 */
export function traceTransport<T extends Transport>(transport: T, options: TracingOptions): T {
  const { tracer, traceTopic, observe } = options;
  const backend = transport.backend;

  /** Traces started by a publish outside any trace, by task id: the task's other records join them. */
  const rootsByTask = new Map<string, Context>();
  const parentOf = (input: EnvelopeInput): Context => {
    const active = context.active();
    // The trace the caller is in; else the one the envelope already carries (a redrive);
    // else the one an earlier record of the same task started (a dispatch's audit record).
    if (hasSpan(active)) return active;
    if (input.traceparent) return contextFrom(input.traceparent);
    const taskId = input.headers?.[runtimeHeaders.taskId];
    return (taskId && rootsByTask.get(taskId)) || active;
  };
  const rememberRoot = (input: EnvelopeInput, parent: Context, span: Span): void => {
    const taskId = input.headers?.[runtimeHeaders.taskId];
    if (!taskId || hasSpan(parent)) return;
    if (rootsByTask.size >= maxRoots) rootsByTask.delete(rootsByTask.keys().next().value!);
    rootsByTask.set(taskId, trace.setSpan(parent, span));
  };

  const startSend = (topic: string, input: EnvelopeInput, tracer: Tracer): { span: Span; traced: EnvelopeInput } => {
    const parent = parentOf(input);
    const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER }, parent);
    // Attributes only for spans that are kept: a sampled-out span costs next to nothing.
    if (span.isRecording()) {
      span.setAttributes({
        ...destinationAttributes(backend, topic),
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        ...(input.id ? { 'messaging.message.id': input.id } : {}),
        ...envelopeAttributes(backend, input as Parameters<typeof envelopeAttributes>[1]),
      });
    }
    rememberRoot(input, parent, span);
    const traceparent = traceparentOf(trace.setSpan(parent, span));
    return { span, traced: traceparent ? { ...input, traceparent } : input };
  };

  const endSend = (span: Span, receipt: PublishReceipt): void => {
    if (span.isRecording()) {
      span.setAttributes({ 'messaging.message.id': receipt.id, 'messaging.destination.partition.id': String(receipt.partition) });
      if (backend === 'kafka') span.setAttribute('messaging.kafka.offset', Number(receipt.offset));
    }
    span.end();
  };

  const fail = (span: Span, error: unknown): void => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute('error.type', errorType(error));
    span.end();
  };

  const publish = async (topic: string, input: EnvelopeInput): Promise<PublishReceipt> => {
    if (!traceTopic(topic)) return transport.publish(topic, input);
    observe?.published(topic, input);
    if (!tracer) return transport.publish(topic, input);
    const { span, traced } = startSend(topic, input, tracer);
    try {
      const receipt = await transport.publish(topic, traced);
      endSend(span, receipt);
      return receipt;
    } catch (error) {
      fail(span, error);
      throw error;
    }
  };

  const publishBatch = async (topic: string, inputs: readonly EnvelopeInput[]): Promise<PublishReceipt[]> => {
    if (!traceTopic(topic) || !tracer) return transport.publishBatch(topic, inputs);
    const sends = inputs.map((input) => {
      observe?.published(topic, input);
      return startSend(topic, input, tracer);
    });
    try {
      const receipts = await transport.publishBatch(
        topic,
        sends.map((send) => send.traced),
      );
      for (const [i, receipt] of receipts.entries()) endSend(sends[i]!.span, receipt);
      return receipts;
    } catch (error) {
      for (const send of sends) fail(send.span, error);
      throw error;
    }
  };

  const subscribe = (topic: string, handler: MessageHandler, subscribeOptions: SubscribeOptions) => {
    if (!traceTopic(topic)) return transport.subscribe(topic, handler, subscribeOptions);
    const traced: MessageHandler = (delivery) => {
      observe?.received(topic, delivery);
      if (!tracer) return handler(delivery);
      const { envelope } = delivery;
      const parent: Context = contextFrom(envelope.traceparent);
      const producer = trace.getSpanContext(parent);
      const span = tracer.startSpan(`process ${topic}`, { kind: SpanKind.CONSUMER, ...(producer ? { links: [{ context: producer }] } : {}) }, parent);
      if (span.isRecording()) {
        span.setAttributes({
          ...destinationAttributes(backend, topic, delivery.partition),
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.consumer.group.name': subscribeOptions.group,
          'messaging.message.delivery_count': delivery.attempt,
          ...(backend === 'kafka' ? { 'messaging.kafka.offset': Number(delivery.offset) } : {}),
          ...envelopeAttributes(backend, envelope),
        });
      }
      const settled = settlementRecorder(delivery, span);
      // A synchronous handler stays synchronous: the dispatcher has a faster path for it.
      return context.with(trace.setSpan(parent, span), () => {
        let result: void | Promise<void>;
        try {
          result = handler(settled);
        } catch (error) {
          fail(span, error);
          throw error;
        }
        if (!result || typeof result.then !== 'function') {
          span.end();
          return result;
        }
        return result.then(
          () => span.end(),
          (error: unknown) => {
            fail(span, error);
            throw error;
          },
        );
      });
    };
    return transport.subscribe(topic, traced, subscribeOptions);
  };

  const overrides: Partial<Transport> = { publish, publishBatch, subscribe };
  return new Proxy(transport, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof typeof overrides];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The delivery, with its ack / nack / term noted on the process span. */
function settlementRecorder(delivery: Delivery, span: Span): Delivery {
  return new Proxy(delivery, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'ack' || property === 'nack' || property === 'term') {
        return (...args: unknown[]) => {
          const first = (value as (...a: unknown[]) => boolean).apply(target, args);
          if (first) span.setAttribute('a2a_bus.settlement', property);
          return first;
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
