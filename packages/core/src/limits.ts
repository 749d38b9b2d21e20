import { encodeEnvelope, takeMeasuredSize, type Envelope } from './envelope.js';
import { PayloadTooLargeError } from './errors/payload-too-large-error.js';
import { jsonByteLength, MAX_JSON_BYTES_PER_UNIT, measureJson } from './json-size.js';

export { jsonByteLength } from './json-size.js';

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

/**
 * `encodeEnvelopeWithin` as JSON text, for clients that write a string faster than a buffer
 * (ioredis writes an all-string command in one go; a buffer argument costs it about 20 µs a
 * command). A string's UTF-8 takes at most 3 bytes per UTF-16 unit, so only a text longer
 * than a third of `maxBytes` is counted.
 */
export function encodeEnvelopeTextWithin(envelope: Envelope, maxBytes: number, scope: string, topic: string): string {
  const text = JSON.stringify(envelope);
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) throw new PayloadTooLargeError(scope, bytes, maxBytes, { topic });
  }
  return text;
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

/** `assertEnvelopeWithin`'s working sizes: one object, reused (it runs for every envelope published, and never re-enters). */
const measuring = { size: 0, units: 0 };

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
  const estimate = measuring;
  let size: number;
  // Measured already when the envelope was just made (the fast path measures as it copies).
  if (takeMeasuredSize(envelope, estimate)) size = estimate.size;
  else {
    estimate.units = 0;
    size = measureJson(envelope, estimate);
  }
  if (size + (MAX_JSON_BYTES_PER_UNIT - 1) * estimate.units > maxBytes) size = jsonByteLength(envelope);
  if (size > maxBytes) throw new PayloadTooLargeError(scope, size, maxBytes, { topic });
  return size;
}
