import type { Redis } from 'ioredis';

interface Batch {
  readonly ids: string[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * Gathers the XACKs of one group issued in the same turn of the event loop into one XACK
 * per stream. Each `ack` resolves once Redis confirmed its entry, as a single XACK would;
 * Redis does one command per batch instead of one per message. `idle()` tells when every
 * XACK asked for has been answered (a partition is handed over only then).
 */
export class AckBatcher {
  private readonly client: Redis;
  private readonly group: string;
  private batches = new Map<string, Batch>();
  private scheduled = false;
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(client: Redis, group: string) {
    this.client = client;
    this.group = group;
  }

  ack(stream: string, id: string): Promise<void> {
    this.outstanding += 1;
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(stream);
      if (!batch) {
        batch = { ids: [], waiters: [] };
        this.batches.set(stream, batch);
      }
      batch.ids.push(id);
      batch.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
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
    for (const [stream, { ids, waiters }] of batches) {
      this.client.xack(stream, this.group, ...ids).then(
        () => this.settled(waiters, (w) => w.resolve()),
        (error: unknown) => this.settled(waiters, (w) => w.reject(error)),
      );
    }
  }

  private settled(waiters: Batch['waiters'], settle: (waiter: Batch['waiters'][number]) => void): void {
    waiters.forEach(settle);
    this.outstanding -= waiters.length;
    if (this.outstanding === 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      idle.forEach((resolve) => resolve());
    }
  }
}
