const marker = Symbol.for('a2a-bus.error');

/**
 * Base class of every error a2a-bus throws. `code` is stable and machine-readable;
 * the native error of a backend client, when there is one, is the `cause`.
 *
 * `isInstance` checks a marker instead of the prototype chain, so it also works when
 * two copies of `@a2a-bus/core` are installed side by side.
 */
export class A2ABusError extends Error {
  readonly [marker] = true;
  readonly code: string;
  /** True when the same operation may succeed if tried again later. */
  readonly isRetryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; isRetryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
  }

  static isInstance(error: unknown): error is A2ABusError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/** Prefix every message the same way: `[a2a-bus] [kafka] cannot reach ...`. */
export function formatMessage(scope: string | undefined, message: string): string {
  return scope ? `[a2a-bus] [${scope}] ${message}` : `[a2a-bus] ${message}`;
}
