import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { createInbox, type MsgHdrs, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

interface Waiter {
  readonly subject: string;
  readonly resolve: (seq: number) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

class PubAckTimeout extends Error {
  constructor() {
    super('no PubAck in time');
    this.name = 'TimeoutError';
  }
}

class NoResponders extends Error {
  constructor(subject: string) {
    super(`no JetStream stream answers on ${subject}`);
    this.name = 'NoRespondersError';
  }
}

const decoder = new TextDecoder();

/**
 * JetStream publishes that wait for their PubAck on one wildcard inbox subscription,
 * with one sweep timer for the timeouts. The client's `js.publish` builds per message a
 * request with its own timer, a random token and an Error (with its stack trace) it throws
 * away on success: a fifth of a publish's CPU. The protocol is the same: a message with a
 * reply subject, answered by the stream with a PubAck (or an API error, or a 503 status
 * when no stream listens).
 */
export class PubAcks {
  private readonly nc: NatsConnection;
  private readonly prefix: string;
  private readonly waiting = new Map<string, Waiter>();
  private readonly sweepMs: number;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(nc: NatsConnection, attemptMs: number) {
    this.nc = nc;
    this.prefix = `${createInbox()}.`;
    this.sweepMs = Math.max(10, Math.min(250, Math.floor(attemptMs / 4)));
  }

  /**
   * Publishes and resolves with the stream sequence. A timeout or a 503 (no stream yet, or
   * the server restarting) is tried again, up to `attempts` times: safe because the stream
   * drops repeats of the `Nats-Msg-Id` the headers carry.
   */
  async publish(subject: string, data: Uint8Array, headers: MsgHdrs, attemptMs: number, attempts: number): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.once(subject, data, headers, attemptMs);
      } catch (error) {
        const retryable = error instanceof PubAckTimeout || error instanceof NoResponders;
        if (!retryable || attempt >= attempts) throw error;
        if (error instanceof NoResponders) await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2_000)));
      }
    }
  }

  private once(subject: string, data: Uint8Array, headers: MsgHdrs, attemptMs: number): Promise<number> {
    this.sub ??= this.subscribe();
    const token = (this.next++).toString(36);
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(token, { subject, resolve, reject, deadline: Date.now() + attemptMs });
      try {
        this.nc.publish(subject, data, { reply: this.prefix + token, headers });
      } catch (error) {
        this.waiting.delete(token);
        reject(error as Error);
        return;
      }
      this.timer ??= setInterval(() => this.sweep(), this.sweepMs);
    });
  }

  /**
   * The server refused to let us publish on `subject` (a permissions violation arrives on
   * the connection, not as a PubAck): the publishes waiting there fail now instead of
   * timing out and retrying.
   */
  refuse(subject: string, error: Error): void {
    for (const [token, waiter] of this.waiting) {
      if (waiter.subject !== subject) continue;
      this.waiting.delete(token);
      waiter.reject(error);
    }
  }

  private subscribe(): Subscription {
    const sub = this.nc.subscribe(`${this.prefix}*`, { callback: (error, msg) => (error ? this.failAll(error) : this.answer(msg)) });
    void sub.closed.then(
      () => this.failAll(new Error('connection closed')),
      (error: unknown) => this.failAll(error instanceof Error ? error : new Error(String(error))),
    );
    return sub;
  }

  private answer(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const waiter = this.waiting.get(token);
    if (!waiter) return; // answered after its timeout: the retry gets its own answer
    this.waiting.delete(token);
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      waiter.reject(new NoResponders(msg.subject));
      return;
    }
    try {
      const ack = JSON.parse(decoder.decode(msg.data)) as { stream?: string; seq?: number; error?: ConstructorParameters<typeof JetStreamApiError>[0] };
      if (ack.error) waiter.reject(new JetStreamApiError(ack.error));
      else if (!ack.stream || typeof ack.seq !== 'number') waiter.reject(new JetStreamError('invalid ack response'));
      else waiter.resolve(ack.seq);
    } catch (error) {
      waiter.reject(error as Error);
    }
  }

  private sweep(): void {
    const now = Date.now();
    // Every attempt waits as long (one transport's attemptMs), so deadlines come in insertion order.
    for (const [token, waiter] of this.waiting) {
      if (waiter.deadline > now) break;
      this.waiting.delete(token);
      waiter.reject(new PubAckTimeout());
    }
    if (this.waiting.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private failAll(error: Error): void {
    this.sub = undefined;
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    clearInterval(this.timer);
    this.timer = undefined;
    for (const waiter of waiters) waiter.reject(error);
  }
}
