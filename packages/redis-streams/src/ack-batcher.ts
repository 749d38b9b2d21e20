import { Command, type Redis } from 'ioredis';

interface Batch<T> {
  readonly ids: string[];
  readonly items: T[];
}

/**
 * Gathers the XACKs of one group issued in the same turn of the event loop into one XACK
 * per stream. Once Redis answered a batch, `onSettled` is called for each of its items with
 * whether the XACK succeeded (and the error if not), as a single XACK per item would tell;
 * Redis does one command per batch instead of one per message, and no promise is made per
 * message. `idle()` tells when every XACK asked for has been answered (a partition is
 * handed over only then).
 */
export class AckBatcher<T> {
  private readonly client: Redis;
  private readonly group: string;
  private readonly onSettled: (item: T, error: unknown) => void;
  private batches = new Map<string, Batch<T>>();
  private scheduled = false;
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(client: Redis, group: string, onSettled: (item: T, error: unknown) => void) {
    this.client = client;
    this.group = group;
    this.onSettled = onSettled;
  }

  ack(stream: string, id: string, item: T): void {
    this.outstanding += 1;
    let batch = this.batches.get(stream);
    if (!batch) {
      batch = { ids: [], items: [] };
      this.batches.set(stream, batch);
    }
    batch.ids.push(id);
    batch.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Resolves when no XACK is waiting to be sent or answered. */
  idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private flush(): void {
    const batches = this.batches;
    this.batches = new Map();
    this.scheduled = false;
    if (batches.size === 1) {
      // One stream (the usual case): one command, written at once. The client auto-pipelines,
      // which would hold a plain `xack` call until another turn; and an ioredis pipeline costs
      // about 6 KB of allocation to set up (it copies the client's script commands).
      const [stream, batch] = batches.entries().next().value as [string, Batch<T>];
      const command = new Command('xack', [stream, this.group, ...batch.ids]);
      this.client.sendCommand(command);
      command.promise.then(
        () => this.settled(batch.items, undefined),
        (error: unknown) => this.settled(batch.items, error ?? new Error('XACK failed')),
      );
      return;
    }
    // One explicit pipeline: written at once (auto-pipelining would wait another turn), one write for all streams.
    const pipeline = this.client.pipeline();
    const items: T[][] = [];
    for (const [stream, batch] of batches) {
      pipeline.xack(stream, this.group, ...batch.ids);
      items.push(batch.items);
    }
    pipeline.exec().then(
      (replies) => {
        for (let i = 0; i < items.length; i += 1) {
          const reply = replies?.[i];
          this.settled(items[i]!, !reply ? new Error('no reply to XACK') : (reply[0] ?? undefined));
        }
      },
      (error: unknown) => {
        for (const batch of items) this.settled(batch, error ?? new Error('XACK failed'));
      },
    );
  }

  private settled(items: T[], error: unknown): void {
    for (const item of items) {
      try {
        this.onSettled(item, error);
      } catch {
        // A listener's fault must not leave the batcher counting XACKs that were answered.
      }
    }
    this.outstanding -= items.length;
    if (this.outstanding === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }
}
