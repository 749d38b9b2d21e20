import { encodeEnvelope, type Envelope } from './envelope.js';
import { PayloadTooLargeError } from './errors/payload-too-large-error.js';

/** Default `maxEnvelopeBytes`: 1 MiB, Kafka's default `max.message.bytes` (and NATS's `max_payload`). */
export const DEFAULT_MAX_ENVELOPE_BYTES = 1_048_576;
/** Default `maxInFlightBytes` of a subscription: 64 envelopes of the largest size allowed. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * DEFAULT_MAX_ENVELOPE_BYTES;

/** Encodes, refusing with `PayloadTooLargeError` (nothing sent) an envelope over `maxBytes`. */
export function encodeEnvelopeWithin(envelope: Envelope, maxBytes: number, scope: string, topic: string): Buffer {
  const bytes = encodeEnvelope(envelope);
  if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError(scope, bytes.byteLength, maxBytes, { topic });
  return bytes;
}

/** Sizes of envelopes measured once (a transport that keeps them decoded measures each at publish). */
const measured = new WeakMap<Envelope, number>();

/** The envelope's encoded size in bytes, remembered per (frozen) envelope. */
export function envelopeByteLength(envelope: Envelope): number {
  let size = measured.get(envelope);
  if (size === undefined) {
    size = jsonByteLength(envelope);
    measured.set(envelope, size);
  }
  return size;
}

/** Printable ASCII other than `"` and `\`: JSON writes such a string as is, between quotes. */
const VERBATIM_IN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The most JSON's UTF-8 takes for one UTF-16 unit of a string: a control character or lone surrogate is written `\u001f`. */
const MAX_JSON_BYTES_PER_UNIT = 6;

/** Object keys repeat from envelope to envelope: their sizes are remembered (up to this many keys). */
const KEY_SIZES_KEPT = 4_096;
const keySizes = new Map<string, number>();

function keyByteLength(key: string): number {
  let size = keySizes.get(key);
  if (size === undefined) {
    size = stringByteLength(key);
    if (keySizes.size >= KEY_SIZES_KEPT) keySizes.clear();
    keySizes.set(key, size);
  }
  return size;
}

function stringByteLength(text: string): number {
  return VERBATIM_IN_JSON.test(text) ? text.length + 2 : Buffer.byteLength(JSON.stringify(text));
}

/**
 * The walk behind `jsonByteLength`. With `estimate` set, a string counts its length in UTF-16
 * units (plus its quotes) instead of its UTF-8 bytes with JSON's escapes — exact for plain
 * ASCII, and nothing to scan — and `estimate.units` collects those lengths: the exact size is
 * at most `MAX_JSON_BYTES_PER_UNIT - 1` bytes per such unit more than the estimate.
 */
function measure(value: unknown, estimate: { units: number } | undefined): number {
  switch (typeof value) {
    case 'string':
      if (estimate === undefined) return stringByteLength(value);
      estimate.units += value.length;
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let size = value.length > 0 ? value.length + 1 : 2; // brackets and commas
        for (const item of value) size += item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 4 : measure(item, estimate);
        return size;
      }
      const prototype = Object.getPrototypeOf(value);
      if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return Buffer.byteLength(JSON.stringify(value));
      let size = 1; // '{', then '}' or one ',' per member after the first
      let members = 0;
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        size += keyByteLength(key) + 1 + measure(member, estimate);
        members += 1;
      }
      return size + Math.max(1, members);
    }
    default:
      return Buffer.byteLength(JSON.stringify(value));
  }
}

/**
 * Exactly `Buffer.byteLength(JSON.stringify(value))`, without building the string: on the
 * memory transport's publish path the JSON text was built only to be measured, and that
 * was half its CPU (a 1 KiB envelope). Anything unusual (toJSON, class instances, escapes,
 * non-ASCII) is measured by JSON.stringify itself.
 */
export function jsonByteLength(value: unknown): number {
  return measure(value, undefined);
}

/**
 * For transports that keep envelopes decoded: the same refusal as `encodeEnvelopeWithin`,
 * without the bytes. Returns a size for the caller to keep (charged against retention and
 * in-flight byte limits, reported in `onPublish`) that counts strings in UTF-16 units, not
 * UTF-8 bytes with JSON's escapes: the same for plain ASCII text, less for other text (CJK:
 * a third) — about what the string holds in memory — and finding the characters to escape was
 * a third of the memory transport's publish CPU. Whether the envelope is over `maxBytes` is
 * always decided exactly: where the most those strings could take is over it, the envelope
 * is measured exactly.
 */
export function assertEnvelopeWithin(envelope: Envelope, maxBytes: number, scope: string, topic: string): number {
  const estimate = { units: 0 };
  let size = measure(envelope, estimate);
  if (size + (MAX_JSON_BYTES_PER_UNIT - 1) * estimate.units > maxBytes) size = jsonByteLength(envelope);
  if (size > maxBytes) throw new PayloadTooLargeError(scope, size, maxBytes, { topic });
  return size;
}
