import type { RetryPolicy } from '../transport.js';

/** The wait before delivery `attempt + 1`: `initialDelayMs` doubling per attempt, capped at `maxDelayMs`. */
export function backoff(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.initialDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
}
