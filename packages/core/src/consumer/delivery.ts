import type { Envelope } from '../envelope.js';
import type { Delivery } from '../transport.js';

export type Outcome =
  | { readonly type: 'ack' }
  | { readonly type: 'nack'; readonly delayMs?: number; readonly error?: unknown }
  | { readonly type: 'term'; readonly reason?: string };

/** One handler invocation. The first settlement wins; later ones report whether they agreed. */
export class DeliveryImpl implements Delivery {
  outcome: Outcome | undefined;
  /** When an asynchronous run of the handler started: the dispatcher's clock, relative to its own start. */
  startedAt = 0;
  readonly envelope: Envelope;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly attempt: number;
  private readonly fence: AbortSignal;
  private readonly verify: ((partition: number) => void) | undefined;

  /**
   * `verify`: asks the backend, on this member's own clock, whether it still holds the
   * partition (and aborts `fence` when not). Run each time the signal is read, so a handler
   * that resumes after its process slept (SIGSTOP, a long GC) — I/O callbacks run before any
   * timer of ours after waking — sees the loss before it starts anything, and its ack is refused.
   */
  constructor(envelope: Envelope, topic: string, partition: number, offset: string, attempt: number, fence: AbortSignal, verify?: (partition: number) => void) {
    this.envelope = envelope;
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.attempt = attempt;
    this.fence = fence;
    this.verify = verify;
  }

  get signal(): AbortSignal {
    if (!this.fence.aborted) this.verify?.(this.partition);
    return this.fence;
  }

  ack(): boolean {
    return this.decide({ type: 'ack' });
  }

  nack(options: { delayMs?: number; error?: unknown } = {}): boolean {
    return this.decide({ type: 'nack', ...options });
  }

  term(reason?: string): boolean {
    return this.decide(reason === undefined ? { type: 'term' } : { type: 'term', reason });
  }

  private decide(outcome: Outcome): boolean {
    // The delivery was given up (partition lost, abandoned): a late settlement changes nothing.
    if (this.signal.aborted && !this.outcome) return false;
    if (this.outcome) return this.outcome.type === outcome.type;
    this.outcome = outcome;
    return true;
  }
}
