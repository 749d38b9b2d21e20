import { createHash, sign, verify } from 'node:crypto';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../envelope.js';
import { publicKeyObject, type AgentKeys } from './keys.js';

/** Headers a signed envelope carries (application headers, under `a2a-bus.`). */
export const trustHeaders = {
  /** The signer's Ed25519 public key, base64url. */
  signer: 'a2a-bus.signer',
  /** Ed25519 signature over `signingInput(envelope)`, base64url. */
  signature: 'a2a-bus.signature',
} as const;

/**
 * What is signed: every bus field that says what the message is and where it belongs (id,
 * key, kind, createdAt, correlation, reply path, deadline, sender, versions, content type),
 * the application headers but the signature, and a SHA-256 digest of the payload in
 * canonical JSON. Not signed: `attempt` and `traceparent`, which republishing and tracing
 * may change on the way.
 */
export function signingInput(envelope: Envelope): Buffer {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(envelope.headers ?? {}).sort()) {
    if (name !== trustHeaders.signature) headers[name] = envelope.headers![name]!;
  }
  const digest = createHash('sha256').update(canonicalJson(envelope.payload)).digest('base64url');
  return Buffer.from(
    [
      'a2a-bus-signature-v1',
      envelope.v,
      envelope.id,
      envelope.key,
      envelope.kind,
      envelope.createdAt,
      envelope.correlationId ?? '',
      envelope.replyTo ?? '',
      envelope.deadline ?? '',
      envelope.sender ?? '',
      envelope.a2aVersion,
      envelope.contentType,
      JSON.stringify(headers),
      digest,
    ].join('\n'),
  );
}

/** The envelope, validated, with the signer and signature headers set. */
export function signEnvelope(input: EnvelopeInput, keys: AgentKeys): Envelope {
  const unsigned = createEnvelope({ ...input, headers: { ...input.headers, [trustHeaders.signer]: keys.publicKey, [trustHeaders.signature]: '' } });
  const signature = sign(null, signingInput(unsigned), keys.privateKey).toString('base64url');
  return createEnvelope({ ...unsigned, headers: { ...unsigned.headers, [trustHeaders.signature]: signature } });
}

/** Who signed an envelope and whether the signature holds (`reason` when it does not). */
export interface SignatureStatus {
  readonly signer: string | undefined;
  readonly verified: boolean;
  readonly reason?: string;
}

export function verifyEnvelope(envelope: Envelope): SignatureStatus {
  const signer = envelope.headers?.[trustHeaders.signer];
  const signature = envelope.headers?.[trustHeaders.signature];
  if (!signer || !signature) return { signer, verified: false, reason: 'not signed' };
  const key = publicKeyObject(signer);
  if (!key) return { signer, verified: false, reason: 'the signer is not an Ed25519 public key' };
  let ok = false;
  try {
    ok = verify(null, signingInput(envelope), key, Buffer.from(signature, 'base64url'));
  } catch {
    ok = false;
  }
  return ok ? { signer, verified: true } : { signer, verified: false, reason: 'the signature does not match the content (tampered, or signed by another key)' };
}

/** JSON with object keys sorted at every level, so sender and receiver hash the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  const parts: string[] = [];
  for (const name of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[name];
    if (item !== undefined && typeof item !== 'function') parts.push(`${JSON.stringify(name)}:${canonicalJson(item)}`);
  }
  return `{${parts.join(',')}}`;
}
