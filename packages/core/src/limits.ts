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
    size = Buffer.byteLength(JSON.stringify(envelope));
    measured.set(envelope, size);
  }
  return size;
}

/** For transports that keep envelopes decoded: the same check as `encodeEnvelopeWithin`, without the bytes. */
export function assertEnvelopeWithin(envelope: Envelope, maxBytes: number, scope: string, topic: string): number {
  const size = envelopeByteLength(envelope);
  if (size > maxBytes) throw new PayloadTooLargeError(scope, size, maxBytes, { topic });
  return size;
}
