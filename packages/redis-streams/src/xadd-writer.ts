import type { Redis } from 'ioredis';
import { KEY_FIELD, VALUE_FIELD } from './records.js';

interface Queued {
  readonly stream: string;
  readonly key: string;
  readonly value: string | Buffer;
  readonly resolve: (offset: string | null) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Writes XADDs on one connection (without ioredis auto-pipelining), in call order:
 * - when nothing is in flight, an XADD is written at once, so a lone publish waits for no
 *   turn of the event loop (auto-pipelining would hold it until `setImmediate`);
 * - under load, XADDs issued while others are in flight are gathered and written as one
 *   pipeline per turn of the event loop, several pipelines may be in flight at once.
 * Everything goes through the one connection in the order `xadd` was called, so the
 * entries of one key are appended in publish order.
 */
export class XaddWriter {
  private readonly client: Redis;
  private queue: Queued[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(client: Redis) {
    this.client = client;
  }

  xadd(stream: string, key: string, value: string | Buffer): Promise<string | null> {
    if (this.inFlight === 0 && this.queue.length === 0) {
      this.inFlight += 1;
      const sent = this.client.xadd(stream, '*', KEY_FIELD, key, VALUE_FIELD, value);
      sent.then(this.done, this.done);
      return sent;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ stream, key, value, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly done = (): void => {
    this.inFlight -= 1;
  };

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const [only] = batch as [Queued];
      this.inFlight += 1;
      const sent = this.client.xadd(only.stream, '*', KEY_FIELD, only.key, VALUE_FIELD, only.value);
      sent.then(this.done, this.done);
      sent.then(only.resolve, only.reject);
      return;
    }
    const pipeline = this.client.pipeline();
    for (const { stream, key, value } of batch) pipeline.xadd(stream, '*', KEY_FIELD, key, VALUE_FIELD, value);
    this.inFlight += 1;
    pipeline.exec().then(
      (replies) => {
        this.inFlight -= 1;
        for (let i = 0; i < batch.length; i += 1) {
          const entry = batch[i]!;
          const reply = replies?.[i];
          if (!reply) entry.reject(new Error('no reply to XADD'));
          else if (reply[0]) entry.reject(reply[0]);
          else entry.resolve(reply[1] as string | null);
        }
      },
      (error: unknown) => {
        this.inFlight -= 1;
        for (const entry of batch) entry.reject(error);
      },
    );
  };
}
