import { z } from 'zod';
import type { AgentKeys } from './keys.js';

const keyList = z.array(z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'an Ed25519 public key in base64url (43 characters)'));

/**
 * Who may do what, by public key. Per capability (a skill id), or `'*'` for every capability:
 * - `serve`: may register agents for it, and sign its task events and results;
 * - `dispatch`: may send task requests to it.
 * A key named anywhere is known; cancels need a known key. Keys named nowhere are unknown.
 */
export const trustPolicySchema = z
  .object({
    serve: z.record(z.string(), keyList).default({}),
    dispatch: z.record(z.string(), keyList).default({}),
  })
  .strict();

export const trustOptionsSchema = z
  .object({
    /** `off`: nothing signed or checked. `warn`: sign, verify, log failures, deliver anyway. `enforce`: sign, verify, dead-letter failures. */
    mode: z.enum(['off', 'warn', 'enforce']).default('off'),
    /** This instance's key pair. Default: a new one per bus (its public key is then `bus.publicKey`). */
    keys: z
      .custom<AgentKeys>(
        (value) => typeof value === 'object' && value !== null && 'publicKey' in value && 'privateKey' in value,
        'AgentKeys (generateAgentKeys())',
      )
      .optional(),
    policy: trustPolicySchema.default({ serve: {}, dispatch: {} }),
    /**
     * An envelope created longer ago than this is refused as a replay (beyond any dedup
     * window); within it, an envelope id already handled here is refused too. Allow for
     * clock skew and for how long requests may wait for a worker.
     */
    maxAgeMs: z.int().min(1_000).default(600_000),
    /** Ids of handled envelopes remembered for the replay check (bounded). */
    rememberIds: z.int().min(0).default(100_000),
  })
  .strict();

export type TrustOptions = z.input<typeof trustOptionsSchema>;
export type ResolvedTrustOptions = z.output<typeof trustOptionsSchema>;
export type TrustPolicyInput = z.input<typeof trustPolicySchema>;

/** Look-ups on a policy. */
export class TrustPolicy {
  private readonly serve: Map<string, Set<string>>;
  private readonly dispatch: Map<string, Set<string>>;
  private readonly known = new Set<string>();

  constructor(policy: z.output<typeof trustPolicySchema>) {
    const index = (rules: Record<string, string[]>): Map<string, Set<string>> => {
      const map = new Map<string, Set<string>>();
      for (const [capability, keys] of Object.entries(rules)) {
        map.set(capability, new Set(keys));
        for (const key of keys) this.known.add(key);
      }
      return map;
    };
    this.serve = index(policy.serve);
    this.dispatch = index(policy.dispatch);
  }

  knows(key: string): boolean {
    return this.known.has(key);
  }

  mayServe(key: string, capability: string): boolean {
    return this.serve.get(capability)?.has(key) === true || this.serve.get('*')?.has(key) === true;
  }

  mayDispatch(key: string, capability: string): boolean {
    return this.dispatch.get(capability)?.has(key) === true || this.dispatch.get('*')?.has(key) === true;
  }
}
