import { BrokerUnreachableError } from './errors/broker-unreachable-error.js';
import { TransportClosedError } from './errors/transport-closed-error.js';

export interface TransportLifecycleOptions {
  /** The adapter's name in error messages, e.g. `kafka`. */
  readonly scope: string;
  /** What is connected to, without credentials, e.g. `127.0.0.1:9092`. */
  readonly address: string;
  readonly connectTimeoutMs: number;
}

/**
 * The skeleton every adapter shares, so each is mostly its backend mapping: connect once
 * within a bounded time (or fail naming the address and how long it waited), refuse
 * operations after close, and close exactly once however often and concurrently it is asked.
 */
export class TransportLifecycle {
  readonly scope: string;
  readonly address: string;
  readonly connectTimeoutMs: number;
  private closing: Promise<void> | undefined;

  constructor(options: TransportLifecycleOptions) {
    this.scope = options.scope;
    this.address = options.address;
    this.connectTimeoutMs = options.connectTimeoutMs;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Throws `TransportClosedError` naming `operation` after close. */
  assertOpen(operation: string): void {
    if (this.closing) throw new TransportClosedError(this.scope, operation);
  }

  /** Runs `close` the first time; every call (also concurrent ones) gets that same promise. */
  close(close: () => Promise<void>): Promise<void> {
    this.closing ??= close();
    return this.closing;
  }

  /**
   * Runs `attempt` within `connectTimeoutMs`. On failure or timeout rejects with
   * `BrokerUnreachableError` (address, the time actually waited, the native cause) and hands
   * the attempt to `abandon` so a late success is torn down instead of left running.
   * `refusal` turns a failure that is not about reachability (the broker refused the
   * credentials or the certificate) into its own typed error, thrown instead.
   */
  async connect<T>(attempt: () => Promise<T>, abandon: (late: Promise<T>) => void, refusal?: (cause: unknown) => Error | undefined): Promise<T> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const running = attempt();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([running, timeout]);
    } catch (cause) {
      running.catch(() => undefined);
      abandon(running);
      const refused = refusal?.(cause);
      if (refused) throw refused;
      const waitedMs = Math.round(performance.now() - started);
      throw new BrokerUnreachableError(this.scope, this.address, this.connectTimeoutMs, { cause, waitedMs });
    } finally {
      clearTimeout(timer);
    }
  }
}
