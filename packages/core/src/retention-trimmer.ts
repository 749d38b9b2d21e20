import { retentionForTopic, type BrokerRetention } from './broker-retention.js';
import { reportError, type Events } from './instrumentation.js';
import type { Logger } from './logger.js';

/**
 * One trimming round of an adapter: deletes, in each topic, the records older than its age
 * limit (`targets`: topic → maxAgeMs) that every group reading the topic has acknowledged.
 * Returns how many records it deleted. A round that cannot tell what a group still needs
 * must delete nothing for that topic.
 */
export type TrimRound = (targets: ReadonlyMap<string, number>, now: number) => Promise<number>;

export interface RetentionTrimmerOptions {
  readonly retention: BrokerRetention;
  readonly trim: TrimRound;
  readonly logger: Logger;
  readonly events: Pick<Events, 'onError'>;
  /** The backend, in log records and error events. */
  readonly transport: string;
}

/**
 * Consumer-aware age retention for brokers whose own (Kafka `retention.ms`, JetStream
 * `max_age`) deletes records whether groups read them or not: topics are created without a
 * broker age limit, and every `intervalMs` this trims the topics this transport wrote to.
 * Several processes trimming one topic is harmless (each cut is the same or lower). The timer
 * never keeps a process alive; `close()` waits for a round under way.
 */
export class RetentionTrimmer {
  private readonly options: RetentionTrimmerOptions;
  private readonly targets = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private round: Promise<number> | undefined;
  private closed = false;

  constructor(options: RetentionTrimmerOptions) {
    this.options = options;
  }

  /** Trims `topic` from now on, by its retention (not at all when it keeps everything). */
  add(topic: string): void {
    const retention = this.options.retention;
    if (this.closed || retention === false || this.targets.has(topic)) return;
    const limits = retentionForTopic(retention, topic);
    if (!limits) return;
    this.targets.set(topic, limits.maxAgeMs);
    if (!this.timer) {
      this.timer = setInterval(() => void this.trimNow().catch(() => undefined), retention.intervalMs);
      this.timer.unref();
    }
  }

  /** Stops trimming `topic` (it was deleted). */
  forget(topic: string): void {
    this.targets.delete(topic);
  }

  /** Runs a round now (or joins the one under way); resolves with the records it deleted. */
  trimNow(now = Date.now()): Promise<number> {
    if (this.closed || this.targets.size === 0) return Promise.resolve(0);
    this.round ??= this.options
      .trim(new Map(this.targets), now)
      .then(
        (deleted) => {
          if (deleted > 0) this.options.logger.debug({ deleted }, 'retention: deleted records past their age that every group acknowledged');
          return deleted;
        },
        (error: unknown) => {
          // Nothing is lost by a failed round; the next one tries again.
          reportError(this.options.events, this.options.logger, 'warn', {
            kind: 'retention-failed',
            transport: this.options.transport,
            message: 'retention round failed; old records stay until a round succeeds',
            error,
          });
          throw error;
        },
      )
      .finally(() => (this.round = undefined));
    return this.round;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round?.catch(() => undefined);
  }
}
