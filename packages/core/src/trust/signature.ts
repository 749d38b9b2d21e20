import { hash, sign, verify } from 'node:crypto';
import { addEnvelopeHeaders, createEnvelope, type Envelope, type EnvelopeInput } from '../envelope.js';
import { publicKeyObject, type AgentKeys } from './keys.js';
import { foldProof, merkleRoot } from './merkle.js';

/** Headers a signed envelope carries (application headers, under `a2a-bus.`). */
export const trustHeaders = {
  /** The signer's Ed25519 public key, base64url. */
  signer: 'a2a-bus.signer',
  /** Ed25519 signature (base64url) over the Merkle root of the batch the envelope was signed in. */
  signature: 'a2a-bus.signature',
  /** `<index>.<sibling hash>...`: the path from this envelope's leaf to the signed root. */
  proof: 'a2a-bus.proof',
} as const;

/**
 * What is signed for one envelope (its Merkle leaf): every bus field that says what the
 * message is and where it belongs (id, key, kind, createdAt, correlation, reply path,
 * deadline, sender, versions, content type), the application headers but the signature and
 * proof, and a SHA-256 digest of the payload in canonical JSON. Not signed: `attempt` and
 * `traceparent`, which republishing and tracing may change on the way.
 */
export function signingInput(envelope: Envelope, digest = payloadDigest(envelope.payload)): Buffer {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(envelope.headers ?? {}).sort()) {
    if (name !== trustHeaders.signature && name !== trustHeaders.proof) headers[name] = envelope.headers![name]!;
  }
  return Buffer.from(
    [
      'a2a-bus-envelope-v1',
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

/** The validated envelope with its signer set, ready to be signed (in a batch or alone). */
/** SHA-256 of the payload's canonical JSON, base64url. */
export function payloadDigest(payload: unknown): string {
  return hash('sha256', canonicalJson(payload), 'base64url');
}

export function prepareForSigning(input: EnvelopeInput, keys: AgentKeys): Envelope {
  return createEnvelope({ ...input, headers: { ...input.headers, [trustHeaders.signer]: keys.publicKey } });
}

/**
 * Signs envelopes (prepared with `prepareForSigning`) with one Ed25519 signature over the
 * Merkle root of their leaves; each comes back with the signature and its inclusion proof,
 * verifiable on its own. One envelope is a batch of one.
 */
export function signPrepared(prepared: readonly Envelope[], keys: AgentKeys, digests?: readonly (string | undefined)[]): Envelope[] {
  const leaves = prepared.map((envelope, index) => signingInput(envelope, digests?.[index] ?? payloadDigest(envelope.payload)));
  const { root, proofs } = merkleRoot(leaves);
  const signature = sign(null, rootMessage(root), keys.privateKey).toString('base64url');
  return prepared.map((envelope, index) => addEnvelopeHeaders(envelope, { [trustHeaders.signature]: signature, [trustHeaders.proof]: proofs[index]! }));
}

/** Signs one envelope. */
export function signEnvelope(input: EnvelopeInput, keys: AgentKeys): Envelope {
  return signPrepared([prepareForSigning(input, keys)], keys)[0]!;
}

function rootMessage(root: Buffer): Buffer {
  return Buffer.concat([Buffer.from('a2a-bus-batch-v1\n'), root]);
}

/** Who signed an envelope and whether the signature holds (`reason` when it does not). */
export interface SignatureStatus {
  readonly signer: string | undefined;
  readonly verified: boolean;
  readonly reason?: string;
}

/**
 * Nodes of trees whose signed root was verified, by signer and signature: another envelope
 * of the same batch is proven as soon as its path meets one of them, with hashing only and
 * often at its own leaf. Bounded (oldest signatures forgotten first).
 */
const verifiedNodes = new Map<string, Set<string>>();
const MAX_VERIFIED_BATCHES = 1_000;

export function verifyEnvelope(envelope: Envelope): SignatureStatus {
  const signer = envelope.headers?.[trustHeaders.signer];
  const signature = envelope.headers?.[trustHeaders.signature];
  const proof = envelope.headers?.[trustHeaders.proof];
  if (!signer || !signature || !proof) return { signer, verified: false, reason: 'not signed' };
  const key = publicKeyObject(signer);
  if (!key) return { signer, verified: false, reason: 'the signer is not an Ed25519 public key' };
  const tampered: SignatureStatus = { signer, verified: false, reason: 'the signature does not match the content (tampered, or signed by another key)' };
  const cacheKey = `${signer}:${signature}`;
  const known = verifiedNodes.get(cacheKey);
  const folded = foldProof(signingInput(envelope), proof, known);
  if (folded.malformed) return tampered;
  if (folded.root === undefined) {
    // Met a node of a tree already verified under this very signature.
    for (const node of folded.nodes) known!.add(node);
    return { signer, verified: true };
  }
  let ok = false;
  try {
    ok = verify(null, rootMessage(folded.root), key, Buffer.from(signature, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) return tampered;
  const nodes = known ?? new Set<string>();
  for (const node of folded.nodes) nodes.add(node);
  if (!known) {
    if (verifiedNodes.size >= MAX_VERIFIED_BATCHES) verifiedNodes.delete(verifiedNodes.keys().next().value!);
    verifiedNodes.set(cacheKey, nodes);
  }
  return { signer, verified: true };
}

const quotedNames = new Map<string, string>();

/** A property name as JSON (names repeat across payloads: quoted once, bounded cache). */
function quoted(name: string): string {
  let text = quotedNames.get(name);
  if (text === undefined) {
    text = JSON.stringify(name);
    if (quotedNames.size < 10_000) quotedNames.set(name, text);
  }
  return text;
}

/** JSON with object keys sorted at every level, so sender and receiver hash the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i += 1) out += (i ? ',' : '') + (value[i] === undefined ? 'null' : canonicalJson(value[i]));
    return `${out}]`;
  }
  const names = Object.keys(value);
  if (names.length > 1) names.sort();
  let out = '{';
  for (const name of names) {
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined || typeof item === 'function') continue;
    out += `${out.length > 1 ? ',' : ''}${quoted(name)}:${typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item)}`;
  }
  return `${out}}`;
}
