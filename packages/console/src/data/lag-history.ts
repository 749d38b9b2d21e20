import type { Transport } from '@a2a-bus/core';

/** Lag of one (topic, group) summed over partitions, and per partition. */
export interface LagPoint {
  readonly at: number;
  readonly series: Record<string, number>;
}

type LagReader = (query?: { topic?: string; group?: string }) => Promise<readonly { topic: string; group: string; partition: number; lag: number }[]>;

/**
 * Samples `transport.inspectLag()` every `intervalMs` and keeps the last `windowMs` of
 * samples: series `<group> · <topic> · p<partition>` (a bounded ring).
 */
export class LagHistory {
  private readonly points: LagPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly read: LagReader | undefined;
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly prefix: string;
  lastError: string | undefined;

  constructor(transport: Transport, namespace: string, intervalMs: number, windowMs: number) {
    const inspect = (transport as Transport & { inspectLag?: LagReader }).inspectLag;
    this.read = inspect ? (query) => inspect.call(transport, query) : undefined;
    this.intervalMs = intervalMs;
    this.windowMs = windowMs;
    this.prefix = `${namespace}.tasks.`;
  }

  /** Whether the transport reports lag at all. */
  get available(): boolean {
    return this.read !== undefined;
  }

  start(): void {
    if (!this.read || this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Samples once (also what the timer does). Only the namespace's task topics: the work waiting for agents. */
  async sample(now = Date.now()): Promise<void> {
    if (!this.read) return;
    try {
      const series: Record<string, number> = {};
      for (const entry of await this.read()) {
        if (!entry.topic.startsWith(this.prefix) || entry.topic.endsWith('.dlq')) continue;
        series[`${entry.group} · ${entry.topic} · p${entry.partition}`] = entry.lag;
      }
      this.points.push({ at: now, series });
      while (this.points.length && this.points[0]!.at < now - this.windowMs) this.points.shift();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
    }
  }

  history(): readonly LagPoint[] {
    return this.points;
  }
}
