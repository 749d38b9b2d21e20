import { Hysteresis } from '../hysteresis.js';
import type { Finding } from './finding.js';

export interface LagGrowthOptions {
  /** Samples in a row in which the lag rose. */
  readonly windows: number;
  /** ...and the lag must be at least this many records. */
  readonly minLag: number;
}

/**
 * Consumer lag of one (topic, group) rising for `windows` samples in a row: the consumers
 * fall behind (stopped, or slower than the producers). A steady non-zero lag is not an
 * anomaly; a growing one is. Memory: three numbers.
 */
export class LagGrowthDetector {
  private previous: number | undefined;
  private rising = 0;
  private startedAt = 0;
  private readonly gate = new Hysteresis(1, 2);

  private readonly options: LagGrowthOptions;

  constructor(options: LagGrowthOptions) {
    this.options = options;
  }

  observe(lag: number): Finding | undefined {
    const previous = this.previous;
    this.previous = lag;
    if (previous === undefined) return undefined;
    if (lag > previous) {
      if (this.rising === 0) this.startedAt = previous;
      this.rising += 1;
    } else {
      this.rising = 0;
    }
    const bad = this.rising >= this.options.windows && lag >= this.options.minLag;
    const good = lag <= previous;
    if (!this.gate.check(bad, good)) return undefined;
    return { observed: lag, baseline: this.startedAt, score: this.rising, window: `${this.rising} lag samples`, examples: [] };
  }
}
