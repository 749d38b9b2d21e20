import type { Redis } from 'ioredis';

type Listener = (message: string) => void;

/**
 * Redis pub/sub for rebalance nudges: one subscriber connection per transport (a
 * subscribed connection can do nothing else), channels subscribed while anyone listens.
 */
export class NudgeChannel {
  private readonly listeners = new Map<string, Set<Listener>>();
  private subscriber: Redis | undefined;
  private subscriberReady: Promise<Redis> | undefined;

  private readonly create: () => Redis;
  private readonly connect: (client: Redis) => Promise<void>;

  /** The subscriber connection is created and connected on first use. */
  constructor(create: () => Redis, connect: (client: Redis) => Promise<void>) {
    this.create = create;
    this.connect = connect;
  }

  /** The subscriber connection, if one was created (to close it, also while it connects). */
  connection(): Redis | undefined {
    return this.subscriber;
  }

  /** Calls `listener` for each message on `channel`; resolves to the function that stops it. */
  async listen(channel: string, listener: Listener): Promise<() => Promise<void>> {
    const subscriber = await this.openSubscriber();
    let listeners = this.listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(channel, listeners);
      await subscriber.subscribe(channel);
    }
    listeners.add(listener);
    return async () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.listeners.get(channel) === listeners) {
        this.listeners.delete(channel);
        await subscriber.unsubscribe(channel);
      }
    };
  }

  private openSubscriber(): Promise<Redis> {
    this.subscriberReady ??= (async () => {
      const subscriber = this.create();
      subscriber.on('message', (channel: string, message: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener(message);
      });
      this.subscriber = subscriber;
      await this.connect(subscriber);
      return subscriber;
    })();
    this.subscriberReady.catch(() => {
      this.subscriberReady = undefined;
    });
    return this.subscriberReady;
  }
}
