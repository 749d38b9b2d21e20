import { z } from 'zod';
import { InvalidOptionsError } from './errors/invalid-options-error.js';
import { DEFAULT_MAX_ENVELOPE_BYTES } from './limits.js';
import type { Instrumentation } from './instrumentation.js';
import type { Logger } from './logger.js';

/** Options every transport takes, besides its own. */
export const commonTransportOptions = {
  /** pino or any logger with debug/info/warn/error/child. Silent when absent. */
  logger: z.custom<Logger>((value) => isLogger(value), 'a logger with debug/info/warn/error/child').optional(),
  instrumentation: z.custom<Instrumentation>((value) => typeof value === 'object' && value !== null, 'an object').optional(),
  /** Partitions of a topic created by a2a-bus. Fixed once the topic exists. */
  partitions: z.int().min(1).max(1024).default(8),
  /** How long connecting may take before `BrokerUnreachableError`. */
  connectTimeoutMs: z.int().min(1).default(10_000),
  /**
   * Largest encoded envelope accepted, in bytes. Publishing a larger one fails with
   * `PayloadTooLargeError`; a consumer dead-letters a larger foreign record without decoding it.
   */
  maxEnvelopeBytes: z.int().min(1_024).default(DEFAULT_MAX_ENVELOPE_BYTES),
};

/**
 * Validates options with defaults applied; the error names the first bad field
 * (`[a2a-bus] [kafka] invalid option \`brokers\`: ...`).
 */
export function parseOptions<S extends z.ZodType>(scope: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    // A typo must not be silently dropped: name the key that is not an option.
    const field = [...path, issue.keys[0] ?? ''].join('.');
    throw new InvalidOptionsError(scope, field, `not an option of this transport${issue.keys.length > 1 ? ` (nor ${issue.keys.slice(1).join(', ')})` : ''}`, {
      cause: result.error,
    });
  }
  const field = path.length ? path.join('.') : '(options)';
  throw new InvalidOptionsError(scope, field, issue.message, { cause: result.error });
}

function isLogger(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const logger = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error', 'child'].every((name) => typeof logger[name] === 'function');
}
