import type { Logger } from '@a2a-bus/core';

/** Commits `{ partition → offset }` of one topic; kafkajs's `commitOffsetsIfNecessary(offsets)` of the current generation. */
export type CommitFn = (partitions: ReadonlyArray<{ partition: number; offset: string }>) => Promise<void>;

/**
 * Collects the newest commit position per partition and commits them together, at most
 * every `intervalMs` (or at once on `flush`). One commit is in flight at a time; a failed
 * one leaves its positions to the next (a newer position of a partition wins).
 */
export class OffsetCommitter {
  private readonly pending = new Map<number, bigint>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly onFailed: ((error: unknown) => void) | undefined;

  /** `onFailed` reports a failed commit (logged at warn either way). */
  constructor(intervalMs: number, logger: Logger, onFailed?: (error: unknown) => void) {
    this.intervalMs = intervalMs;
    this.logger = logger;
    this.onFailed = onFailed;
  }

  /** Records that `partition` may be committed up to `offset` (exclusive); commits soon through `commit`. */
  mark(partition: number, offset: bigint, commit: () => CommitFn | undefined): void {
    this.pending.set(partition, offset);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const fn = commit();
      if (fn) void this.flush(fn);
    }, this.intervalMs);
  }

  /** Commits what is pending now (after a commit in flight, if any). */
  async flush(commit: CommitFn): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.pending.size === 0) return;
    const offsets = [...this.pending];
    this.pending.clear();
    const run = async (): Promise<void> => {
      try {
        await commit(offsets.map(([partition, offset]) => ({ partition, offset: offset.toString() })));
      } catch (error) {
        for (const [partition, offset] of offsets) if (!this.pending.has(partition)) this.pending.set(partition, offset);
        if (this.onFailed) this.onFailed(error);
        else this.logger.warn({ err: error }, 'offset commit failed; retried with the next one');
      }
    };
    this.inFlight = run().finally(() => (this.inFlight = undefined));
    await this.inFlight;
  }

  /** Forgets every pending position (they belong to a generation that is over). */
  clear(): void {
    this.pending.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
