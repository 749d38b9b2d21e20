import { Hysteresis } from '../hysteresis.js';
import type { Finding } from './finding.js';

export interface RateDetectorOptions {
  /** Events per window: the rate is hits / events over one window. */
  readonly windowEvents: number;
  /** Windows before any alert. */
  readonly warmupWindows: number;
  /** Binomial z-score a window's rate must reach against the baseline rate. */
  readonly sensitivity: number;
  /** ...and the rate must exceed the baseline by at least this much (absolute, 0..1). */
  readonly minDelta: number;
  /** Good windows in a row before a raised alarm clears. */
  readonly clearAfter: number;
}

/**
 * A rate (retries, dead letters, redeliveries per delivery) of one series, in windows of a
 * fixed number of events. The baseline is an EWMA of past windows' rates; a window's rate
 * is scored as a binomial proportion against it (with a floor of 1% so a clean baseline of
 * 0 does not make one retry an anomaly). Memory: a few counters and three example ids.
 */
export class RateDetector {
  private events = 0;
  private hits = 0;
  private windows = 0;
  private baseline = 0;
  private readonly examples: string[] = [];
  private readonly gate: Hysteresis;

  private readonly options: RateDetectorOptions;

  constructor(options: RateDetectorOptions) {
    this.options = options;
    this.gate = new Hysteresis(1, options.clearAfter);
  }

  /** One event; `hit` when it counts (a retry, a dead letter...). */
  observe(hit: boolean, id: string): Finding | undefined {
    this.events += 1;
    if (hit) {
      this.hits += 1;
      if (this.examples.length < 3) this.examples.push(id);
    }
    if (this.events < this.options.windowEvents) return undefined;
    return this.closeWindow();
  }

  private closeWindow(): Finding | undefined {
    const { options } = this;
    const n = this.events;
    const rate = this.hits / n;
    const examples = [...this.examples];
    this.events = 0;
    this.hits = 0;
    this.examples.length = 0;
    this.windows += 1;
    if (this.windows <= options.warmupWindows) {
      this.learn(rate);
      return undefined;
    }
    const p = Math.max(this.baseline, 0.01);
    const score = (rate - this.baseline) / Math.sqrt((p * (1 - Math.min(p, 0.99))) / n);
    const bad = score >= options.sensitivity && rate - this.baseline >= options.minDelta;
    const good = rate - this.baseline < options.minDelta / 2;
    const raised = this.gate.check(bad, good);
    if (!this.gate.active) this.learn(rate);
    if (!raised) return undefined;
    return { observed: rate, baseline: this.baseline, score, window: `${n} deliveries`, examples };
  }

  private learn(rate: number): void {
    const alpha = Math.max(0.1, 1 / this.windows);
    this.baseline += alpha * (rate - this.baseline);
  }
}
