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

/**
 * Exactly `Buffer.byteLength(JSON.stringify(value))`, without building the string: on the
 * memory transport's publish path the JSON text was built only to be measured, and that
 * was half its CPU (a 1 KiB envelope). Anything unusual (toJSON, class instances, escapes,
 * non-ASCII) is measured by JSON.stringify itself.
 */
export function jsonByteLength(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return VERBATIM_IN_JSON.test(value) ? value.length + 2 : Buffer.byteLength(JSON.stringify(value));
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let size = value.length > 0 ? value.length + 1 : 2; // brackets and commas
        for (const item of value) size += item === undefined || typeof item === 'function' || typeof item === 'symbol' ? 4 : jsonByteLength(item);
        return size;
      }
      const prototype = Object.getPrototypeOf(value);
      if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return Buffer.byteLength(JSON.stringify(value));
      let size = 1; // '{', then '}' or one ',' per member after the first
      let members = 0;
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        size += jsonByteLength(key) + 1 + jsonByteLength(member);
        members += 1;
      }
      return size + Math.max(1, members);
    }
    default:
      return Buffer.byteLength(JSON.stringify(value));
  }
}

/**
 * For transports that keep envelopes decoded: the same check as `encodeEnvelopeWithin`,
 * without the bytes. Measures every call (no cache: remembering sizes of short-lived
 * envelopes in a WeakMap cost more than measuring); returns the size for the caller to keep.
 */
export function assertEnvelopeWithin(envelope: Envelope, maxBytes: number, scope: string, topic: string): number {
  const size = jsonByteLength(envelope);
  if (size > maxBytes) throw new PayloadTooLargeError(scope, size, maxBytes, { topic });
  return size;
}
