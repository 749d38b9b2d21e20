/** What went wrong, as the detectors name it. */
export type AnomalyKind =
  | 'handler-latency'
  | 'retry-rate'
  | 'dead-letter-rate'
  | 'redelivery-rate'
  | 'payload-size'
  | 'lag-growth'
  | 'agent-silent'
  | 'throughput-collapse';

export const anomalyKinds: readonly AnomalyKind[] = [
  'handler-latency',
  'retry-rate',
  'dead-letter-rate',
  'redelivery-rate',
  'payload-size',
  'lag-growth',
  'agent-silent',
  'throughput-collapse',
];

/** One detected anomaly: an event, written to `<namespace>.anomalies` and given to callbacks. */
export interface Anomaly {
  /** Unique id of this anomaly event. */
  readonly id: string;
  readonly kind: AnomalyKind;
  /** The capability it concerns (a topic for payload sizes outside the runtime, a group for lag). */
  readonly capability?: string;
  /** The agent instance it concerns, when known (agent-silent; in-process detectors label their own). */
  readonly agent?: string;
  /** What was observed (ms, bytes, a rate 0..1, a lag in records, events per window). */
  readonly observed: number;
  /** What the baseline says is normal, in the same unit. */
  readonly baseline: number;
  /** How far out: robust z-score for values and rates, windows of growth for lag, ratio for collapse. */
  readonly score: number;
  /** The window the observation covers, e.g. `last 7 events`, `20 deliveries`, `5 samples`. */
  readonly window: string;
  /** Ids of a few example messages, tasks or workflows. */
  readonly examples: readonly string[];
  /** ISO time of detection. */
  readonly at: string;
  /** Which process saw it. */
  readonly detector: string;
  /** A one-line human reading. */
  readonly message: string;
}

/** Where the anomaly concerns, as one string: `capability` or `capability@agent`. */
export function anomalySubject(anomaly: Pick<Anomaly, 'capability' | 'agent'>): string {
  return [anomaly.capability, anomaly.agent].filter(Boolean).join('@') || '-';
}
