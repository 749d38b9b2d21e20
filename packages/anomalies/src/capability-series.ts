import { RateDetector } from './detectors/rate-detector.js';
import { ThroughputDetector } from './detectors/throughput-detector.js';
import { ValueDetector } from './detectors/value-detector.js';
import type { ParsedAnomalyDetectorOptions } from './options.js';

/** Every per-capability detector, created together on the capability's first event. */
export class CapabilitySeries {
  readonly latency: ValueDetector;
  readonly payloadSize: ValueDetector;
  readonly retryRate: RateDetector;
  readonly deadLetterRate: RateDetector;
  readonly redeliveryRate: RateDetector;
  readonly throughput: ThroughputDetector;
  /** Deliveries handed to a handler and not settled yet (in-process). */
  inFlight = 0;

  constructor(options: ParsedAnomalyDetectorOptions) {
    this.latency = new ValueDetector(options.latency);
    this.payloadSize = new ValueDetector(options.payloadSize);
    this.retryRate = new RateDetector(options.retryRate);
    this.deadLetterRate = new RateDetector(options.deadLetterRate);
    this.redeliveryRate = new RateDetector(options.redeliveryRate);
    this.throughput = new ThroughputDetector(options.throughput);
  }
}
