import type { RetryPolicy } from '../transport.js';

/**
 * The wait before delivery `attempt + 1`: `initialDelayMs` doubling per attempt, capped at
 * `maxDelayMs`, plus up to `jitter` of it at random, so members that failed together (a
 * broker blip) do not all retry in the same instant. Never less than the unjittered wait.
 */
export function backoff(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  const jitter = policy.jitter ?? 0;
  return jitter > 0 ? Math.round(base * (1 + jitter * random())) : base;
}
