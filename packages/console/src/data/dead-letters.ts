import { randomUUID } from 'node:crypto';
import {
  deadLetterPosition,
  handledMarker,
  handledTopic,
  redriveHeaders,
  redrivenEnvelope,
  runtimeHeaders,
  runtimeTopics,
  type EnvelopeOf,
  type Transport,
} from '@a2a-bus/core';

/** A dead letter where it sits, and whether a redrive already handled it (a marker on `<dlq>.handled` names its position). */
export interface DeadLetterEntry {
  readonly deadLetterTopic: string;
  readonly partition: number;
  readonly offset: string;
  readonly position: string;
  readonly envelope: EnvelopeOf<'dead-letter'>;
  readonly handled: boolean;
}

/** The dead-letter topics of the capabilities given: `<namespace>.tasks.<capability>.dlq`. */
export function deadLetterTopicsOf(namespace: string, capabilities: Iterable<string>): string[] {
  return [...new Set(capabilities)].sort().map((capability) => `${runtimeTopics(namespace).tasks(capability)}.dlq`);
}

/** Every dead letter of one topic, marked handled when a redrive already sent it back. */
export async function readDeadLetters(transport: Transport, deadLetterTopic: string): Promise<DeadLetterEntry[]> {
  const handled = new Set<string>();
  for await (const record of transport.replay(handledTopic(deadLetterTopic))) {
    const position = record.envelope?.headers?.[redriveHeaders.from];
    if (position) handled.add(position);
  }
  const entries: DeadLetterEntry[] = [];
  for await (const record of transport.replay(deadLetterTopic)) {
    if (record.envelope?.kind !== 'dead-letter') continue;
    const position = deadLetterPosition(deadLetterTopic, record.partition, record.offset);
    entries.push({ deadLetterTopic, partition: record.partition, offset: record.offset, position, envelope: record.envelope, handled: handled.has(position) });
  }
  return entries;
}

export type RedriveOutcome = 'would redrive' | 'redriven' | 'skipped: no decodable original' | 'skipped: already handled';

/**
 * Sends one dead letter back to its source topic (same id, attempt reset, redrive headers),
 * records the request in the workflow log (so the timeline shows it), then marks it
 * handled. Republish first, mark second: a crash between the two redrives it again next
 * time (at-least-once), never loses it. The same steps as `a2a-bus dlq redrive`.
 */
export async function redriveDeadLetter(transport: Transport, namespace: string, entry: DeadLetterEntry, options: { by: string; dryRun: boolean }): Promise<RedriveOutcome> {
  if (entry.handled) return 'skipped: already handled';
  const at = new Date();
  const envelope = redrivenEnvelope(entry.envelope, entry.position, options.by, at);
  if (!envelope) return 'skipped: no decodable original';
  if (options.dryRun) return 'would redrive';
  if (envelope.headers?.[runtimeHeaders.type] === 'task-request') {
    await transport.publish(runtimeTopics(namespace).workflows, { ...envelope, id: randomUUID() });
  }
  await transport.publish(entry.envelope.payload.sourceTopic, envelope);
  await transport.publish(handledTopic(entry.deadLetterTopic), handledMarker(entry.envelope.id, entry.position, options.by, at));
  return 'redriven';
}

/** The fields the page and the API show for a dead letter. */
export function deadLetterSummary(entry: DeadLetterEntry): Record<string, unknown> {
  const { envelope } = entry;
  return {
    id: envelope.id,
    workflowId: envelope.key,
    capability: envelope.headers?.[runtimeHeaders.capability],
    taskId: envelope.headers?.[runtimeHeaders.taskId],
    attempts: envelope.payload.attempts,
    deadLetteredAt: envelope.payload.deadLetteredAt,
    reason: envelope.payload.reason,
    error: envelope.payload.error.message,
    handled: entry.handled,
    position: entry.position,
  };
}
