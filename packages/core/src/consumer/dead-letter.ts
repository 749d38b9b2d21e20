import { A2ABusError } from '../errors/a2a-bus-error.js';
import type { Envelope, EnvelopeInput } from '../envelope.js';

export interface DeadLetterInput {
  readonly sourceTopic: string;
  readonly group: string;
  readonly reason: string;
  readonly error: unknown;
  readonly attempts: number;
  /** The decoded original, when there is one. */
  readonly original?: Envelope;
  /** Otherwise the bytes and where they were. */
  readonly raw?: Uint8Array;
  readonly key: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * The dead-letter envelope keeps the original's id, key and headers, so a dead letter can
 * be traced to (and replayed as) the message it stands for.
 */
export function buildDeadLetter(input: DeadLetterInput): EnvelopeInput {
  const { original } = input;
  return {
    kind: 'dead-letter',
    id: original?.id ?? `${input.sourceTopic}/${input.partition}/${input.offset}`,
    key: original?.key ?? (input.key.slice(0, 1024) || 'undecodable'),
    ...(original?.correlationId ? { correlationId: original.correlationId } : {}),
    ...(original?.traceparent ? { traceparent: original.traceparent } : {}),
    ...(original?.headers ? { headers: original.headers } : {}),
    payload: {
      reason: input.reason,
      error: describeError(input.error),
      attempts: input.attempts,
      sourceTopic: input.sourceTopic,
      group: input.group,
      deadLetteredAt: new Date().toISOString(),
      ...(original ? { original } : {}),
      ...(input.raw ? { raw: Buffer.from(input.raw).toString('base64') } : {}),
    },
  };
}

export function describeError(error: unknown): { name: string; message: string; code?: string } {
  if (A2ABusError.isInstance(error)) return { name: error.name, message: error.message, code: error.code };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: error === undefined ? 'no error given' : String(error) };
}

/**
 * The smallest dead letter that still says what happened: no original body, no raw bytes,
 * the key shortened if it was too long to publish. Used when the full one is refused.
 */
export function buildMinimalDeadLetter(input: DeadLetterInput): EnvelopeInput {
  const full = buildDeadLetter(input) as Extract<EnvelopeInput, { kind: 'dead-letter' }>;
  const { original: _original, raw: _raw, ...payload } = full.payload;
  return {
    ...full,
    key: full.key.length > 256 ? `${full.key.slice(0, 200)}…#${full.key.length}` : full.key,
    payload: {
      ...payload,
      reason: `${input.reason} (original left out: it could not be written; it was at ${input.sourceTopic}/${input.partition}/${input.offset})`,
    },
  };
}
