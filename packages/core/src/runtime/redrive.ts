import { randomUUID } from 'node:crypto';
import type { EnvelopeInput, EnvelopeOf } from '../envelope.js';
import type { Transport } from '../transport.js';
import { userText } from './a2a.js';
import { runtimeHeaders, runtimeTopics } from './topics.js';

/** Headers a redriven envelope carries: who sent it back, when, and which dead letter it came from. */
export const redriveHeaders = {
  by: 'a2a-bus.redriven-by',
  at: 'a2a-bus.redriven-at',
  /** `<dead-letter topic>/<partition>/<offset>` of the dead letter it was taken from. */
  from: 'a2a-bus.redriven-from',
} as const;

/**
 * Where the "this dead letter was handled" markers of a dead-letter topic go. One record
 * per handled dead letter, keyed by the dead letter's id, pointing at its exact position:
 * a dead letter is handled when a marker names its position, so a second redrive skips it,
 * while the same message dead-lettered again later (a new position) can be redriven again.
 */
export function handledTopic(deadLetterTopic: string): string {
  return `${deadLetterTopic}.handled`;
}

/** Where a dead letter sits; what a handled marker names. */
export function deadLetterPosition(deadLetterTopic: string, partition: number, offset: string): string {
  return `${deadLetterTopic}/${partition}/${offset}`;
}

/**
 * The original envelope of a dead letter, ready to publish to its topic again: same id and
 * key, attempt reset, the deadline dropped (the original caller's wait is long over), and
 * headers saying it was redriven, by whom, when and from where. Undefined when the dead
 * letter kept no decodable original (raw bytes cannot be redriven as an envelope).
 */
export function redrivenEnvelope(deadLetter: EnvelopeOf<'dead-letter'>, position: string, by: string, at: Date): EnvelopeInput | undefined {
  const original = deadLetter.payload.original;
  if (!original) return undefined;
  const { attempt: _attempt, deadline: _deadline, createdAt: _createdAt, ...rest } = original;
  return {
    ...rest,
    headers: { ...original.headers, [redriveHeaders.by]: by, [redriveHeaders.at]: at.toISOString(), [redriveHeaders.from]: position },
  } as EnvelopeInput;
}

/** The marker published to `handledTopic(...)` once a dead letter was redriven. */
export function handledMarker(deadLetterId: string, position: string, by: string, at: Date): EnvelopeInput {
  return {
    kind: 'message',
    key: deadLetterId,
    payload: userText(`dead letter ${deadLetterId} at ${position} redriven by ${by}`),
    headers: {
      [runtimeHeaders.type]: 'dead-letter-handled',
      [redriveHeaders.by]: by,
      [redriveHeaders.at]: at.toISOString(),
      [redriveHeaders.from]: position,
    },
  };
}

/** A dead letter where it sits, and whether a redrive already handled it (a marker on `<dlq>.handled` names its position). */
export interface DeadLetterEntry {
  readonly deadLetterTopic: string;
  readonly partition: number;
  readonly offset: string;
  readonly position: string;
  readonly envelope: EnvelopeOf<'dead-letter'>;
  readonly handled: boolean;
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
 * records a redriven task request in the workflow log (so audit and timelines show it before
 * anything the worker reports), then marks the dead letter handled. Republish first, mark
 * second: a crash between the two redrives it again next time (at-least-once), never loses
 * it. What `a2a-bus dlq redrive` and the console's redrive both do.
 */
export async function redriveDeadLetter(
  transport: Transport,
  namespace: string,
  entry: DeadLetterEntry,
  options: { by: string; dryRun?: boolean },
): Promise<RedriveOutcome> {
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
