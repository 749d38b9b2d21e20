import type { EnvelopeInput, EnvelopeOf } from '../envelope.js';
import { userText } from './a2a.js';
import { runtimeHeaders } from './topics.js';

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
