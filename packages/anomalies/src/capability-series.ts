import { RateDetector } from './detectors/rate-detector.js';
import { TailDetector } from './detectors/tail-detector.js';
import { ThroughputDetector } from './detectors/throughput-detector.js';
import { ValueDetector } from './detectors/value-detector.js';
import type { Finding } from './detectors/finding.js';
import type { ParsedAnomalyDetectorOptions } from './options.js';

/** Every per-capability detector, created together on the capability's first event. */
export class CapabilitySeries {
  readonly latency: ValueDetector;
  readonly latencyTail: TailDetector;
  readonly payloadSize: ValueDetector;
  readonly retryRate: RateDetector;
  readonly deadLetterRate: RateDetector;
  readonly redeliveryRate: RateDetector;
  readonly throughput: ThroughputDetector;
  /** Deliveries handed to a handler and not settled yet (in-process). */
  inFlight = 0;

  /**
   * One handler run into both latency detectors; a finding of one while the other's alarm is
   * up is the same slowdown seen twice, so only the first is reported.
   */
  observeLatency(ms: number, id: string, now: number): Finding | undefined {
    const tailWasUp = this.latencyTail.alarmed;
    const medianWasUp = this.latency.alarmed;
    const median = this.latency.observe(ms, id, now);
    const tail = this.latencyTail.observe(ms, id, now);
    return (tailWasUp ? undefined : median) ?? (medianWasUp || median ? undefined : tail);
  }

  constructor(options: ParsedAnomalyDetectorOptions) {
    this.latency = new ValueDetector(options.latency);
    this.latencyTail = new TailDetector(options.latencyTail);
    this.payloadSize = new ValueDetector(options.payloadSize);
    this.retryRate = new RateDetector(options.retryRate);
    this.deadLetterRate = new RateDetector(options.deadLetterRate);
    this.redeliveryRate = new RateDetector(options.redeliveryRate);
    this.throughput = new ThroughputDetector(options.throughput);
  }
}
