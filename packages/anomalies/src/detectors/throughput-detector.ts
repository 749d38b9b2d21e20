import { Hysteresis } from '../hysteresis.js';
import type { Finding } from './finding.js';

export interface ThroughputOptions {
  /** Windows with demand before any alert. */
  readonly warmupWindows: number;
  /** Completions per window fall below baseline × this ratio... */
  readonly collapseRatio: number;
  /** ...while the baseline was at least this many completions per window. */
  readonly minBaseline: number;
  /** Bad windows in a row before the alarm. */
  readonly raiseAfter: number;
}

/**
 * Completions per time window of one capability against their EWMA, counted only in
 * windows where there is demand (work arriving or held): an idle capability is not a
 * collapsed one. Memory: a few counters.
 */
export class ThroughputDetector {
  private completed = 0;
  private demand = 0;
  private windows = 0;
  private baseline = 0;
  private readonly examples: string[] = [];
  private readonly gate: Hysteresis;

  private readonly options: ThroughputOptions;

  constructor(options: ThroughputOptions) {
    this.options = options;
    this.gate = new Hysteresis(options.raiseAfter, 2);
  }

  complete(): void {
    this.completed += 1;
  }

  /** Work arrived (a publish, a delivery); `id` is kept as an example of waiting work. */
  arrive(id: string): void {
    this.demand += 1;
    if (this.examples.length < 3) this.examples.push(id);
  }

  /** Closes one time window; `held` is work in flight now (counts as demand). */
  closeWindow(held: number, windowMs: number): Finding | undefined {
    const completed = this.completed;
    const hasDemand = this.demand > 0 || held > 0;
    const examples = [...this.examples];
    this.completed = 0;
    this.demand = 0;
    this.examples.length = 0;
    if (!hasDemand) return undefined;
    this.windows += 1;
    if (this.windows <= this.options.warmupWindows) {
      this.learn(completed);
      return undefined;
    }
    const floor = this.baseline * this.options.collapseRatio;
    const bad = this.baseline >= this.options.minBaseline && completed < floor;
    const good = completed >= this.baseline * 0.5;
    const raised = this.gate.check(bad, good);
    if (!this.gate.active && !bad) this.learn(completed);
    if (!raised) return undefined;
    const score = this.baseline > 0 ? 1 - completed / this.baseline : 0;
    return { observed: completed, baseline: this.baseline, score, window: `${windowMs} ms windows`, examples };
  }

  private learn(completed: number): void {
    const alpha = Math.max(0.1, 1 / this.windows);
    this.baseline += alpha * (completed - this.baseline);
  }
}
