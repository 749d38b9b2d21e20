import { runtimeHeaders, type Delivery, type EnvelopeInput, type Instrumentation } from '@a2a-bus/core';
import type { Attributes, Histogram, Meter, ObservableResult } from '@opentelemetry/api';
import { destinationAttributes, errorType, messagingSystem, taskState } from './attributes.js';

/** Seconds buckets for operation and process durations (the conventions' advice). */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Attribute sets kept for reuse (destinations × groups × settlements); beyond it they are built per call. */
const maxAttributeSets = 10_000;

/** Sums per attribute set, kept in process and reported by an observable instrument at collection. */
class LocalSums {
  private readonly sums = new Map<string, { attributes: Attributes; value: number }>();

  add(key: string, attributes: () => Attributes, n: number): void {
    const found = this.sums.get(key);
    if (found) found.value += n;
    else this.sums.set(key, { attributes: attributes(), value: n });
  }

  report(result: ObservableResult): void {
    for (const { attributes, value } of this.sums.values()) result.observe(value, attributes);
  }
}

/** Dispatches whose request was seen and whose final task was not yet: bounded. */
const maxOpenDispatches = 10_000;

/**
 * The metrics: the messaging conventions' client metrics plus the bus's own, fed by the
 * transport's Instrumentation events (cheap: counters and histograms, no allocation beyond
 * the attribute objects).
 */
export class BusMetrics {
  readonly instrumentation: Instrumentation;
  private readonly dispatchDuration: Histogram;
  private readonly openDispatches = new Map<string, { started: number; capability: string; topic: string }>();

  constructor(meter: Meter) {
    // The per-message counts are summed here and handed over at collection: an increment is
    // a map lookup instead of an SDK record (which hashes its attributes every time).
    const sent = new LocalSums();
    const consumed = new LocalSums();
    const inFlight = new LocalSums();
    meter
      .createObservableCounter('messaging.client.sent.messages', { unit: '{message}', description: 'Messages a producer attempted to send' })
      .addCallback((r) => sent.report(r));
    meter
      .createObservableCounter('messaging.client.consumed.messages', { unit: '{message}', description: 'Messages delivered to a handler' })
      .addCallback((r) => consumed.report(r));
    meter
      .createObservableUpDownCounter('a2a_bus.in_flight', { unit: '{message}', description: 'Messages whose handler is running' })
      .addCallback((r) => inFlight.report(r));
    const operation = meter.createHistogram('messaging.client.operation.duration', {
      unit: 's',
      description: 'Duration of publish operations',
      advice: { explicitBucketBoundaries: durationBuckets },
    });
    const process = meter.createHistogram('messaging.process.duration', {
      unit: 's',
      description: 'Duration of handler runs',
      advice: { explicitBucketBoundaries: durationBuckets },
    });
    const bytes = meter.createHistogram('a2a_bus.message.size', {
      unit: 'By',
      description: 'Encoded envelope size at publish (0 on memory: nothing is encoded)',
    });
    const retries = meter.createCounter('a2a_bus.retries', {
      unit: '{message}',
      description: 'Handler failures and nacks: each is retried, or dead-lettered on the last attempt',
    });
    const redeliveries = meter.createCounter('a2a_bus.redeliveries', { unit: '{message}', description: 'Messages handed to a handler again (attempt > 1)' });
    const deadLetters = meter.createCounter('a2a_bus.dead_letters', { unit: '{message}', description: 'Messages written to a dead-letter topic' });
    const errors = meter.createCounter('a2a_bus.errors', {
      unit: '{error}',
      description: 'Failures reported through onError, by error.type (settle-failed, lease-lost, …)',
    });
    this.dispatchDuration = meter.createHistogram('a2a_bus.dispatch.duration', {
      unit: 's',
      description: 'Dispatch to final task state, per capability and outcome (a2a.task.state)',
      advice: { explicitBucketBoundaries: durationBuckets },
    });

    const consumerAttributes = (e: { transport: string; topic: string; group: string }): Attributes => ({
      ...destinationAttributes(e.transport, e.topic),
      'messaging.consumer.group.name': e.group,
    });
    // Attribute sets reused per destination (and group, and settlement), not rebuilt per message.
    const cached = new Map<string, Attributes>();
    const attributesOf = (key: string, build: () => Attributes): Attributes => {
      let found = cached.get(key);
      if (!found) {
        found = build();
        if (cached.size < maxAttributeSets) cached.set(key, found);
      }
      return found;
    };
    const sendKey = (e: { transport: string; topic: string }): string => `${e.transport}\u0000${e.topic}`;
    const groupKey = (e: { transport: string; topic: string; group: string }): string => `${e.transport}\u0000${e.topic}\u0000${e.group}`;
    const settled = (e: { transport: string; topic: string; group: string; handlerMs: number }, settlement: string): void => {
      const key = groupKey(e);
      process.record(
        e.handlerMs / 1_000,
        attributesOf(`${key}\u0000${settlement}`, () => ({ ...consumerAttributes(e), 'a2a_bus.settlement': settlement })),
      );
      inFlight.add(key, () => consumerAttributes(e), -1);
    };
    this.instrumentation = {
      onPublish(e) {
        const key = sendKey(e);
        const attributes = attributesOf(key, () => ({ ...destinationAttributes(e.transport, e.topic), 'messaging.operation.name': 'send' }));
        sent.add(key, () => attributes, 1);
        operation.record(e.durationMs / 1_000, attributes);
        if (e.bytes > 0)
          bytes.record(
            e.bytes,
            attributesOf(`${key}\u0000size`, () => ({ 'messaging.system': messagingSystem(e.transport), 'messaging.destination.name': e.topic })),
          );
      },
      onDeliver(e) {
        const key = groupKey(e);
        consumed.add(key, () => ({ ...consumerAttributes(e), 'messaging.operation.name': 'process' }), 1);
        inFlight.add(key, () => consumerAttributes(e), 1);
      },
      onAck(e) {
        settled(e, 'ack');
      },
      onTerm(e) {
        settled(e, 'term');
      },
      onNack(e) {
        process.record(e.handlerMs / 1_000, { ...consumerAttributes(e), 'a2a_bus.settlement': 'nack', 'error.type': errorType(e.error) });
        inFlight.add(groupKey(e), () => consumerAttributes(e), -1);
        retries.add(1, consumerAttributes(e));
      },
      onRedeliver(e) {
        redeliveries.add(1, consumerAttributes(e));
      },
      onDeadLetter(e) {
        deadLetters.add(1, consumerAttributes(e));
      },
      onError(e) {
        errors.add(1, {
          'error.type': e.kind,
          'messaging.system': messagingSystem(e.transport),
          ...(e.topic ? { 'messaging.destination.name': e.topic } : {}),
          ...(e.group ? { 'messaging.consumer.group.name': e.group } : {}),
        });
      },
    };
  }

  /** A task request going out: its dispatch is timed until its final task comes back. */
  requestPublished(topic: string, envelope: EnvelopeInput): void {
    const headers = envelope.headers ?? {};
    const taskId = headers[runtimeHeaders.taskId];
    const capability = headers[runtimeHeaders.capability];
    if (headers[runtimeHeaders.type] !== 'task-request' || !taskId || !capability || !envelope.replyTo) return;
    // The runtime writes the request's audit copy (to `<ns>.workflows`) just before the
    // request itself: time the dispatch from the first, name it by the task topic.
    const open = this.openDispatches.get(taskId);
    if (open) {
      if (!topic.endsWith('.workflows')) open.topic = topic;
      return;
    }
    if (this.openDispatches.size >= maxOpenDispatches) this.openDispatches.delete(this.openDispatches.keys().next().value!);
    this.openDispatches.set(taskId, { started: performance.now(), capability, topic });
  }

  /** A reply arriving: a final task closes its dispatch. */
  replyReceived(_topic: string, delivery: Delivery): void {
    const { envelope } = delivery;
    if (envelope.kind !== 'stream-response' || !('task' in envelope.payload)) return;
    const open = this.openDispatches.get(envelope.payload.task.id);
    if (!open) return;
    this.openDispatches.delete(envelope.payload.task.id);
    this.dispatchDuration.record((performance.now() - open.started) / 1_000, {
      'a2a_bus.capability': open.capability,
      'messaging.destination.name': open.topic,
      'a2a.task.state': taskState(envelope) ?? 'unknown',
    });
  }
}
