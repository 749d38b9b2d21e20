export { generateAgentKeys, agentKeysFromPem, publicKeyId, type AgentKeys } from './keys.js';
export { signEnvelope, signPrepared, prepareForSigning, verifyEnvelope, signingInput, canonicalJson, trustHeaders, type SignatureStatus } from './signature.js';
export { BatchSigner } from './batch-signer.js';
export { merkleRoot, rootFromProof, foldProof } from './merkle.js';
export { TrustPolicy, trustOptionsSchema, trustPolicySchema, type TrustOptions, type TrustPolicyInput, type ResolvedTrustOptions } from './policy.js';
export { checkEnvelope, topicRole, ReplayGuard, type TopicRole } from './envelope-checks.js';
export { TrustedTransport, type TrustedTransportOptions } from './trusted-transport.js';
export { withTrust } from './runtime-trust.js';
