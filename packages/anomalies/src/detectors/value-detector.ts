import { Hysteresis } from '../hysteresis.js';
import { Ring } from '../ring.js';
import { RobustBaseline } from '../robust-baseline.js';
import type { Finding } from './finding.js';

export interface ValueDetectorOptions {
  /** Samples before any alert: the first half is ignored (cold start), the second half seeds the baseline (median, MAD). */
  readonly warmup: number;
  /** Robust z-score (in log space) an observation must reach. */
  readonly sensitivity: number;
  /** ...and observed / baseline must reach this ratio: guards steady series with tiny spread. */
  readonly minRatio: number;
  /** The observation is the median of the last `recent` values (1 = each value alone). */
  readonly recent: number;
  /** Baseline memory, in samples. */
  readonly span: number;
  /** Bad observations in a row before the alarm: a short stall (GC, a busy CPU) is not a slowdown. */
  readonly raiseAfter: number;
  /** ...and the bad streak must have lasted this long (ms): a stall hits every in-flight handler at once, a slowdown lasts. */
  readonly minDurationMs: number;
  /** Good observations in a row before a raised alarm clears. */
  readonly clearAfter: number;
  /** Added before taking logs, in the value's unit: values far below it count as equal. */
  readonly floor: number;
}

/**
 * Latency or size outliers of one series. Works on log values (latencies and sizes are
 * multiplicative), compares the median of the last few values with a robust baseline
 * (EWMA / EWMAD, see RobustBaseline), and alerts when both the z-score and the ratio are
 * exceeded. The baseline does not learn from bad observations nor while the alarm is up, so a sustained shift stays
 * one alarm until the series returns. Memory: a ring of `recent` values, a few numbers.
 */
export class ValueDetector {
  private readonly baseline: RobustBaseline;
  private readonly ring: Ring;
  private readonly gate: Hysteresis;
  /** When the current run of bad observations began. */
  private badSince: number | undefined;
  private seen = 0;
  /** The learnt half of the warm-up, until the baseline is seeded from it (then dropped). */
  private warming: number[] | undefined = [];

  private readonly options: ValueDetectorOptions;

  constructor(options: ValueDetectorOptions) {
    this.options = options;
    this.baseline = new RobustBaseline(options.span, 3, 0.05);
    this.ring = new Ring(options.recent);
    this.gate = new Hysteresis(options.raiseAfter, options.clearAfter);
  }

  /** Whether its alarm is up. */
  get alarmed(): boolean {
    return this.gate.active;
  }

  /** Where the series stands: its normal value and spread, the current observation, the alarm. */
  state(): { normal: number; scale: number; observed: number; samples: number; alarm: boolean } {
    const normal = Math.exp(this.baseline.center) - this.options.floor;
    return { normal, scale: this.baseline.scale, observed: this.ring.length ? this.ring.median() : 0, samples: this.seen, alarm: this.gate.active };
  }

  observe(value: number, id: string, now = Date.now()): Finding | undefined {
    const { options } = this;
    const log = Math.log(value + options.floor);
    this.ring.push(value, id);
    this.seen += 1;
    // Warm-up: the first half is ignored (cold start: connections, caches, JIT); the second
    // half seeds the baseline with its median and MAD.
    if (this.seen <= Math.floor(options.warmup / 2)) return undefined;
    if (this.warming) {
      this.warming.push(log);
      if (this.warming.length < Math.ceil(options.warmup / 2)) return undefined;
      this.baseline.seed(this.warming);
      this.warming = undefined;
      return undefined;
    }
    const observed = this.ring.median();
    const score = this.baseline.score(Math.log(observed + options.floor));
    const normal = Math.exp(this.baseline.center) - options.floor;
    const ratio = (observed + options.floor) / (normal + options.floor);
    const bad = score >= options.sensitivity && ratio >= options.minRatio;
    const good = score < options.sensitivity / 2 || ratio < Math.sqrt(options.minRatio);
    this.badSince = bad ? (this.badSince ?? now) : undefined;
    const lasted = this.badSince !== undefined && now - this.badSince >= options.minDurationMs;
    const raised = this.gate.check(bad && lasted, good);
    // Learn only from normal observations: a shift on its way to an alarm must not become "normal".
    if (!this.gate.active && !bad) this.baseline.add(log);
    if (!raised) return undefined;
    return {
      observed,
      baseline: normal,
      score,
      window: options.recent > 1 ? `median of the last ${this.ring.length} events` : 'one event',
      examples: this.ring.idsAbove(normal * options.minRatio, 3),
    };
  }
}
