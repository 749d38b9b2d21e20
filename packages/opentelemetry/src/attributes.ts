import { runtimeHeaders, stateName, type Envelope } from '@a2a-bus/core';
import type { Attributes } from '@opentelemetry/api';

/**
 * `messaging.system` per backend. The messaging conventions name Kafka; Redis Streams and
 * NATS JetStream have no value yet, so custom ones (as the conventions allow) are used.
 */
export const messagingSystems: Readonly<Record<string, string>> = {
  kafka: 'kafka',
  'redis-streams': 'redis_streams',
  nats: 'nats_jetstream',
  memory: 'a2a_bus_memory',
};

export function messagingSystem(backend: string): string {
  return messagingSystems[backend] ?? backend;
}

/** Where a message goes or comes from: system, destination, partition. */
export function destinationAttributes(backend: string, topic: string, partition?: number): Attributes {
  return {
    'messaging.system': messagingSystem(backend),
    'messaging.destination.name': topic,
    ...(partition !== undefined ? { 'messaging.destination.partition.id': String(partition) } : {}),
  };
}

/** The A2A and message-identity attributes an envelope carries (messaging + A2A + gen_ai conventions). */
export function envelopeAttributes(backend: string, envelope: Envelope): Attributes {
  const headers = envelope.headers ?? {};
  const attributes: Attributes = {
    'messaging.message.id': envelope.id,
    'gen_ai.conversation.id': envelope.key,
    'a2a_bus.envelope.kind': envelope.kind,
  };
  if (backend === 'kafka') attributes['messaging.kafka.message.key'] = envelope.key;
  if (envelope.correlationId) attributes['messaging.message.conversation_id'] = envelope.correlationId;
  const type = headers[runtimeHeaders.type];
  if (type) attributes['a2a_bus.record.type'] = type;
  const capability = headers[runtimeHeaders.capability];
  if (capability) attributes['a2a_bus.capability'] = capability;
  const taskId = headers[runtimeHeaders.taskId] ?? taskIdOf(envelope);
  if (taskId) attributes['a2a.task.id'] = taskId;
  if (envelope.kind === 'message') attributes['a2a.message.id'] = envelope.payload.messageId;
  const state = taskState(envelope);
  if (state) attributes['a2a.task.state'] = state;
  return attributes;
}

function taskIdOf(envelope: Envelope): string | undefined {
  if (envelope.kind === 'message') return envelope.payload.taskId;
  if (envelope.kind === 'task') return envelope.payload.id;
  return undefined;
}

/** The A2A task state an envelope reports (`completed`, `failed`, …), if any. */
export function taskState(envelope: Envelope): string | undefined {
  if (envelope.kind === 'task') return stateName(envelope.payload.status.state);
  if (envelope.kind !== 'stream-response') return undefined;
  const event = envelope.payload;
  if ('task' in event) return stateName(event.task.status.state);
  if ('statusUpdate' in event) return stateName(event.statusUpdate.status.state);
  return undefined;
}

/** `error.type`: the error's `code` when it has one (a2a-bus errors do), else its class name, else `_OTHER`. */
export function errorType(error: unknown): string {
  if (!(error instanceof Error)) return '_OTHER';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
