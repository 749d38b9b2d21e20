import { Hysteresis } from '../hysteresis.js';
import { RobustBaseline } from '../robust-baseline.js';
import type { Finding } from './finding.js';

export interface TailDetectorOptions {
  /** Values kept: the tail is the `rank`-th highest of the last `size` (3rd of 64 ≈ p95). */
  readonly size: number;
  readonly rank: number;
  /** The tail is checked every `every` values (so checks do not repeat the same values too often). */
  readonly every: number;
  /** Checks before any alert (the first ones seed the baseline with their median and MAD). */
  readonly warmupChecks: number;
  readonly sensitivity: number;
  readonly minRatio: number;
  /** Bad checks in a row: with `every` × this ≥ `size`, the same few stalls cannot raise it alone. */
  readonly raiseAfter: number;
  /** ...and the bad streak must have lasted this long (ms): a stall slows every in-flight run at once, a slow minority lasts. */
  readonly minDurationMs: number;
  readonly clearAfter: number;
  readonly floor: number;
}

/**
 * Tail latency (≈ p95 of the last 64) of one series against its own robust baseline: catches
 * a slow minority (one request in ten taking 20x) that leaves the median alone. Memory: a
 * ring of `size` values, a few numbers.
 */
export class TailDetector {
  private readonly values: number[] = [];
  private readonly ids: string[] = [];
  private next = 0;
  private sinceCheck = 0;
  private readonly baseline = new RobustBaseline(50, 3, 0.05);
  private warming: number[] | undefined = [];
  private badSince: number | undefined;
  private readonly gate: Hysteresis;
  private readonly options: TailDetectorOptions;

  constructor(options: TailDetectorOptions) {
    this.options = options;
    this.gate = new Hysteresis(options.raiseAfter, options.clearAfter);
  }

  /** Whether its alarm is up. */
  get alarmed(): boolean {
    return this.gate.active;
  }

  observe(value: number, id: string, now = Date.now()): Finding | undefined {
    const { options } = this;
    if (this.values.length < options.size) {
      this.values.push(value);
      this.ids.push(id);
    } else {
      this.values[this.next] = value;
      this.ids[this.next] = id;
      this.next = (this.next + 1) % options.size;
    }
    this.sinceCheck += 1;
    if (this.values.length < options.size || this.sinceCheck < options.every) return undefined;
    this.sinceCheck = 0;
    const tail = [...this.values].sort((a, b) => b - a)[options.rank - 1]!;
    const log = Math.log(tail + options.floor);
    if (this.warming) {
      this.warming.push(log);
      if (this.warming.length >= options.warmupChecks) {
        this.baseline.seed(this.warming);
        this.warming = undefined;
      }
      return undefined;
    }
    const score = this.baseline.score(log);
    const normal = Math.exp(this.baseline.center) - options.floor;
    const ratio = (tail + options.floor) / (normal + options.floor);
    const bad = score >= options.sensitivity && ratio >= options.minRatio;
    const good = score < options.sensitivity / 2 || ratio < Math.sqrt(options.minRatio);
    this.badSince = bad ? (this.badSince ?? now) : undefined;
    const raised = this.gate.check(bad && now - this.badSince! >= options.minDurationMs, good);
    if (!this.gate.active && !bad) this.baseline.add(log);
    if (!raised) return undefined;
    const examples = this.values
      .map((v, i) => ({ v, id: this.ids[i]! }))
      .filter((entry) => entry.v >= normal * options.minRatio)
      .sort((a, b) => b.v - a.v)
      .slice(0, 3)
      .map((entry) => entry.id);
    return { observed: tail, baseline: normal, score, window: `p95 (rank ${options.rank} of the last ${options.size} events)`, examples };
  }
}
