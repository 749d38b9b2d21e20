import { z } from 'zod';
import { agentCardSchema, messageSchema, streamResponseSchema, taskSchema } from './a2a/schema.js';
import { DecodeError } from './errors/decode-error.js';
import { InvalidEnvelopeError } from './errors/invalid-envelope-error.js';
import { newId } from './ids.js';
import { isoTimeCache } from './iso-time.js';
import { FAST_PATH_DECLINED, type FastEnvelopeShape, fastEnvelopeParser, patternOf } from './fast-envelope.js';

/** Version of the envelope layout; bumped on incompatible change, checked on decode. */
export const ENVELOPE_VERSION = 1;
export const A2A_PROTOCOL_VERSION = '1.0';
export const A2A_JSON_CONTENT_TYPE = 'application/a2a+json';

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;
const traceparent = z.string().regex(TRACEPARENT, 'a W3C traceparent');
const timestamp = z.iso.datetime({ offset: true });

/** The bus headers every envelope carries, whatever its payload. */
const headerFields = {
  v: z.literal(ENVELOPE_VERSION),
  /** Unique per logical message; kept through retries and dead-lettering. */
  id: z.string().min(1).max(256),
  /** Partition key: the workflow id. Messages with one key are handled in order. */
  key: z.string().min(1).max(1024),
  correlationId: z.string().min(1).optional(),
  /** Topic the answer to a request goes to. */
  replyTo: z.string().min(1).optional(),
  /** Attempt at which this envelope was (re)published by the runtime; deliveries count their own. */
  attempt: z.int().min(1).optional(),
  createdAt: timestamp,
  /** After this instant the message is not worth handling any more. */
  deadline: timestamp.optional(),
  traceparent: traceparent.optional(),
  a2aVersion: z.string().min(1),
  contentType: z.string().min(1),
  /** Agent id of the sender. */
  sender: z.string().min(1).optional(),
  /** Application headers; a2a-bus neither reads nor changes them. */
  headers: z.record(z.string(), z.string()).optional(),
};

/** What a consumer could not handle, with everything needed to look into it or replay it. */
export interface DeadLetterRecord {
  readonly reason: string;
  readonly error: { name: string; message: string; code?: string | undefined };
  readonly attempts: number;
  readonly sourceTopic: string;
  readonly group: string;
  readonly deadLetteredAt: string;
  /** The original envelope, when it could be decoded. */
  readonly original?: Envelope | undefined;
  /** The original bytes in base64, when they could not be decoded. */
  readonly raw?: string | undefined;
}

// Typed by hand: the schema is recursive (a dead letter holds the original envelope), and an
// inferred type would be cut off at some depth in the published .d.ts files.
export const deadLetterSchema: z.ZodType<DeadLetterRecord> = z.object({
  reason: z.string(),
  error: z.object({ name: z.string(), message: z.string(), code: z.string().optional() }),
  attempts: z.int().min(0),
  sourceTopic: z.string(),
  group: z.string(),
  deadLetteredAt: timestamp,
  /** The original envelope, when it could be decoded. */
  get original(): z.ZodOptional<z.ZodType<Envelope>> {
    return envelopeSchema.optional();
  },
  /** The original bytes in base64, when they could not be decoded. */
  raw: z.base64().optional(),
});

export const envelopeSchema = z.discriminatedUnion('kind', [
  z.object({ ...headerFields, kind: z.literal('message'), payload: messageSchema }),
  z.object({ ...headerFields, kind: z.literal('task'), payload: taskSchema }),
  z.object({ ...headerFields, kind: z.literal('stream-response'), payload: streamResponseSchema }),
  z.object({ ...headerFields, kind: z.literal('agent-card'), payload: agentCardSchema }),
  z.object({ ...headerFields, kind: z.literal('dead-letter'), payload: deadLetterSchema }),
]);

export type Envelope = z.infer<typeof envelopeSchema>;

/** The schema's common cases without zod (see `fast-envelope.ts`); zod decides the rest and names what is wrong. */
export const FAST_ENVELOPE_SHAPE: FastEnvelopeShape = {
  messageOption: envelopeSchema.options[0],
  version: ENVELOPE_VERSION,
  timestamp: patternOf(timestamp),
  traceparent: TRACEPARENT,
};
export const fastParseEnvelope = fastEnvelopeParser(FAST_ENVELOPE_SHAPE);

/** The envelope `input` is, copied as zod copies it, or the zod error naming what is wrong. */
function parseEnvelope(input: unknown): { success: true; data: Envelope } | { success: false; error: z.ZodError } {
  const fast = fastParseEnvelope(input);
  if (fast !== FAST_PATH_DECLINED) return { success: true, data: fast as Envelope };
  return envelopeSchema.safeParse(input);
}

/**
 * The envelope `createEnvelope` made last, with the size the fast path measured of it as it
 * copied it (see `JsonMeasure`). Handed out once, to the very next size check of that
 * envelope (`takeMeasuredSize`): nothing can have changed it in between, where a size kept
 * with the envelope would go stale if its (unfrozen) payload were changed later.
 */
let lastMade: Envelope | undefined;
let lastSize = 0;
let lastUnits = 0;

/**
 * Writes the size measured while `envelope` was made into `into`, if it was the last one made
 * and not asked for since; returns whether it did. (Into the caller's object: this runs for
 * every envelope a transport publishes.)
 */
export function takeMeasuredSize(envelope: Envelope, into: { size: number; units: number }): boolean {
  if (envelope !== lastMade) return false;
  lastMade = undefined;
  into.size = lastSize;
  into.units = lastUnits;
  return true;
}

export type EnvelopeKind = Envelope['kind'];
export type EnvelopeOf<K extends EnvelopeKind> = Extract<Envelope, { kind: K }>;

type Defaulted = 'v' | 'id' | 'createdAt' | 'a2aVersion' | 'contentType';
type Optionalize<E> = E extends unknown ? Omit<E, Defaulted> & Partial<Pick<Envelope, Defaulted>> : never;
/** An envelope as a caller writes it: id, createdAt, versions and content type are filled in. */
export type EnvelopeInput = Optionalize<Envelope>;

/**
 * Marks envelopes this module validated with a private field: invisible to keys, spread,
 * serialisation and deep equality (a spread copy is not marked), and about 10 ns to add
 * where a non-enumerable property (`Object.defineProperty`) cost 170 ns per envelope.
 */
class ReturnsTarget {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: a subclass's private field lands on `target` itself
    return target as ReturnsTarget;
  }
}
class ValidatedMark extends ReturnsTarget {
  #validated = true;
  static stamp(envelope: object): void {
    new ValidatedMark(envelope);
  }
  static has(value: unknown): boolean {
    return typeof value === 'object' && value !== null && #validated in value;
  }
}

const createdAtIso = isoTimeCache();
const nowIso = (): string => createdAtIso(Date.now());

/**
 * Fills defaults and validates. Throws `InvalidEnvelopeError` naming every bad field.
 * The result is frozen (its top level) and remembered, so publishing it again — to a
 * second topic, in a retry, in a benchmark — does not pay for validation twice.
 */
export function createEnvelope(input: EnvelopeInput): Envelope {
  lastMade = undefined;
  if (ValidatedMark.has(input)) {
    if (Object.isFrozen(input)) return input as Envelope;
  } else if (typeof input !== 'object' || input === null) {
    throw new InvalidEnvelopeError([`(root): expected an envelope object, got ${input === null ? 'null' : typeof input}`]);
  }
  const candidate = {
    ...input,
    v: input.v ?? ENVELOPE_VERSION,
    id: input.id ?? newId(),
    createdAt: input.createdAt ?? nowIso(),
    a2aVersion: input.a2aVersion ?? A2A_PROTOCOL_VERSION,
    contentType: input.contentType ?? A2A_JSON_CONTENT_TYPE,
  };
  const fast = fastParseEnvelope(candidate);
  if (fast !== FAST_PATH_DECLINED) {
    ValidatedMark.stamp(fast);
    const envelope = Object.freeze(fast) as Envelope;
    const { size, units } = fastParseEnvelope.measured;
    if (!Number.isNaN(size)) {
      lastMade = envelope;
      lastSize = size;
      lastUnits = units;
    }
    return envelope;
  }
  const result = envelopeSchema.safeParse(candidate);
  if (!result.success) throw new InvalidEnvelopeError(describeIssues(result.error), { cause: result.error });
  ValidatedMark.stamp(result.data);
  return Object.freeze(result.data);
}

/**
 * A validated envelope with string headers added, without validating it all again (nothing
 * else changes, and string headers are always valid). Used to attach signatures.
 */
export function addEnvelopeHeaders(envelope: Envelope, headers: Readonly<Record<string, string>>): Envelope {
  if (!ValidatedMark.has(envelope)) return createEnvelope({ ...envelope, headers: { ...envelope.headers, ...headers } });
  const copy = { ...envelope, headers: { ...envelope.headers, ...headers } };
  ValidatedMark.stamp(copy);
  return Object.freeze(copy) as Envelope;
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope));
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; error: DecodeError };

/** Never throws: bytes that are not a valid envelope come back as a `DecodeError`. */
export function decodeEnvelope(bytes: Uint8Array | string): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    return { ok: false, error: new DecodeError('not JSON', { cause }) };
  }
  if (typeof json === 'object' && json !== null && 'v' in json && json.v !== ENVELOPE_VERSION) {
    // JSON.stringify, not String(): `{"toString":null}` would make String() throw.
    return {
      ok: false,
      error: new DecodeError(`unsupported envelope version ${typeof json.v === 'object' && json.v !== null ? JSON.stringify(json.v) : String(json.v)}`),
    };
  }
  const result = parseEnvelope(json);
  if (!result.success) return { ok: false, error: new DecodeError(describeIssues(result.error).join('; '), { cause: result.error }) };
  const envelope = result.data;
  // The usual content type as the constant: JSON.parse gives each record its own copy of a string
  // this long (V8 shares only short ones), 40 bytes held per message in flight for nothing.
  if (envelope.contentType === A2A_JSON_CONTENT_TYPE) (envelope as { contentType: string }).contentType = A2A_JSON_CONTENT_TYPE;
  return { ok: true, envelope };
}
