/**
 * Notices when this process itself stalls (a long GC pause, a starved CPU, a blocked event
 * loop): a timer due every `intervalMs` that fires more than `thresholdMs` late marks the
 * time it was late for. A handler run that overlaps such a stall measured the process, not
 * the agent, so the in-process latency detectors skip it. Keeps the last few stalls only.
 */
export class StallMonitor {
  private readonly stalls: Array<{ from: number; to: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private readonly intervalMs: number;
  private readonly thresholdMs: number;

  constructor(intervalMs: number, thresholdMs: number) {
    this.intervalMs = intervalMs;
    this.thresholdMs = thresholdMs;
  }

  start(): void {
    if (this.timer) return;
    this.expected = performance.now() + this.intervalMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = now - this.expected;
      if (late > this.thresholdMs) {
        this.stalls.push({ from: this.expected, to: now });
        if (this.stalls.length > 16) this.stalls.shift();
      }
      this.expected = now + this.intervalMs;
    }, this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether a stall overlapped [from, to] (`performance.now()` times). */
  overlaps(from: number, to: number): boolean {
    return this.stalls.some((stall) => stall.from <= to && stall.to >= from);
  }
}
