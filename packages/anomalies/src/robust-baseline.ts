/**
 * A constant-memory robust baseline of a series: an exponentially weighted mean and an
 * exponentially weighted mean absolute deviation (EWMA/EWMAD), the streaming stand-in for
 * median/MAD. Values fed in are clamped to mean ± clamp·scale before they move the
 * baseline (winsorising), so a burst of outliers cannot drag "normal" towards itself.
 * No seasonality is modelled: the series is assumed stationary over ~`span` samples.
 */
export class RobustBaseline {
  private mean = 0;
  private deviation = 0;
  private samples = 0;
  private readonly alpha: number;
  /** Outliers beyond this many scales move the baseline only as far as this. */
  private readonly clamp: number;
  /** Smallest scale: a perfectly steady series still has this much deviation. */
  private readonly minScale: number;

  /** `span`: effective memory in samples (EWMA alpha = 2 / (span + 1)). */
  constructor(span: number, clamp = 3, minScale = 0) {
    this.alpha = 2 / (span + 1);
    this.clamp = clamp;
    this.minScale = minScale;
  }

  get count(): number {
    return this.samples;
  }

  get center(): number {
    return this.mean;
  }

  /** The dispersion unit: 1.25 × mean absolute deviation ≈ one standard deviation for normal data. */
  get scale(): number {
    return Math.max(this.deviation * 1.25, this.minScale);
  }

  /** How many scales `value` lies above the centre (negative below). */
  score(value: number): number {
    const scale = this.scale;
    return scale > 0 ? (value - this.mean) / scale : value > this.mean ? Number.POSITIVE_INFINITY : 0;
  }

  /**
   * Starts the baseline from a warm-up sample with the true median and MAD, so a few stalls
   * during warm-up cannot inflate it (the EWMAs take over from there).
   */
  seed(values: readonly number[]): void {
    if (!values.length) return;
    const median = (list: readonly number[]): number => {
      const sorted = [...list].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    this.mean = median(values);
    // MAD × 1.4826 estimates σ for normal data; `scale` is 1.25 × deviation.
    this.deviation = (median(values.map((v) => Math.abs(v - this.mean))) * 1.4826) / 1.25;
    this.samples = values.length;
  }

  add(value: number): void {
    if (this.samples === 0) {
      this.mean = value;
      this.samples = 1;
      return;
    }
    // During the first samples a plain running mean: EWMA from one sample is too jumpy.
    const alpha = Math.max(this.alpha, 1 / (this.samples + 1));
    const scale = this.scale;
    const bounded = this.samples > 8 && scale > 0 ? Math.min(Math.max(value, this.mean - this.clamp * scale), this.mean + this.clamp * scale) : value;
    const delta = bounded - this.mean;
    this.mean += alpha * delta;
    this.deviation += alpha * (Math.abs(delta) - this.deviation);
    this.samples += 1;
  }
}
