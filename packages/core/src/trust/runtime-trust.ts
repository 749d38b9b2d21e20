import type { Logger } from '../logger.js';
import type { Transport } from '../transport.js';
import { generateAgentKeys, type AgentKeys } from './keys.js';
import { TrustPolicy, type ResolvedTrustOptions } from './policy.js';
import { TrustedTransport } from './trusted-transport.js';

/**
 * The transport an agent bus uses under its trust options, and its identity: the given
 * transport itself when trust is off, otherwise one that signs and verifies.
 */
export function withTrust(
  transport: Transport,
  trust: ResolvedTrustOptions | undefined,
  namespace: string,
  logger: Logger,
): { transport: Transport; keys: AgentKeys | undefined } {
  if (!trust || trust.mode === 'off') return { transport, keys: trust?.keys };
  const keys = trust.keys ?? generateAgentKeys();
  return {
    transport: new TrustedTransport(transport, {
      namespace,
      mode: trust.mode,
      keys,
      policy: new TrustPolicy(trust.policy),
      maxAgeMs: trust.maxAgeMs,
      rememberIds: trust.rememberIds,
      logger: logger.child({ component: 'trust' }),
    }),
    keys,
  };
}
