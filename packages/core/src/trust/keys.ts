import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * An agent instance's identity: an Ed25519 key pair. `publicKey` is the raw 32-byte public
 * key in base64url (the JWK `x`): it names the signer on every envelope and in trust policies.
 */
export interface AgentKeys {
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** A new Ed25519 key pair (one per agent instance, or per deployment kept in a secret store). */
export function generateAgentKeys(): AgentKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: publicKeyId(publicKey), privateKey };
}

/** Keys from an Ed25519 private key in PEM (PKCS#8), e.g. read from a secret store. */
export function agentKeysFromPem(privateKeyPem: string): AgentKeys {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('an Ed25519 private key is required');
  return { publicKey: publicKeyId(createPublicKey(privateKey)), privateKey };
}

/** The base64url raw public key of a KeyObject. */
export function publicKeyId(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new TypeError('an Ed25519 key is required');
  return jwk.x;
}

const imported = new Map<string, KeyObject | null>();

/** The KeyObject for a base64url public key (cached, bounded); undefined when it is not an Ed25519 key. */
export function publicKeyObject(id: string): KeyObject | undefined {
  let key = imported.get(id);
  if (key === undefined) {
    try {
      key = /^[A-Za-z0-9_-]{43}$/.test(id) ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' }) : null;
    } catch {
      key = null;
    }
    if (imported.size >= 10_000) imported.delete(imported.keys().next().value!);
    imported.set(id, key);
  }
  return key ?? undefined;
}
