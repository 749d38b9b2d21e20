import type { Transport } from '@a2a-bus/core';

/** Lag of one (topic, group) summed over partitions, and per partition. */
export interface LagPoint {
  readonly at: number;
  readonly series: Record<string, number>;
}

type LagReader = (query?: { topic?: string; group?: string }) => Promise<readonly { topic: string; group: string; partition: number; lag: number }[]>;

/**
 * Samples consumer lag every `intervalMs` and keeps the last `windowMs` of samples: series
 * `<group> · <topic> · p<partition>`. Asks only about the namespace's capabilities (group
 * `agents.<capability>` on `<namespace>.tasks.<capability>`): a shared cluster may hold
 * thousands of other groups.
 */
export class LagHistory {
  private readonly points: LagPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly read: LagReader | undefined;
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly namespace: string;
  private readonly capabilities: () => readonly string[];
  private sampling = false;
  lastError: string | undefined;

  constructor(transport: Transport, namespace: string, capabilities: () => readonly string[], intervalMs: number, windowMs: number) {
    const inspect = (transport as Transport & { inspectLag?: LagReader }).inspectLag;
    this.read = inspect ? (query) => inspect.call(transport, query) : undefined;
    this.intervalMs = intervalMs;
    this.windowMs = windowMs;
    this.namespace = namespace;
    this.capabilities = capabilities;
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

  /** Samples once (also what the timer does, never two at a time). */
  async sample(now = Date.now()): Promise<void> {
    const read = this.read;
    if (!read || this.sampling) return;
    this.sampling = true;
    try {
      const series: Record<string, number> = {};
      const rounds = await Promise.all(
        this.capabilities().map((capability) => read({ topic: `${this.namespace}.tasks.${capability}`, group: `agents.${capability}` })),
      );
      for (const entry of rounds.flat()) series[`${entry.group} · ${entry.topic} · p${entry.partition}`] = entry.lag;
      this.points.push({ at: now, series });
      while (this.points.length && this.points[0]!.at < now - this.windowMs) this.points.shift();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
    } finally {
      this.sampling = false;
    }
  }

  history(): readonly LagPoint[] {
    return this.points;
  }
}
