/** What a detector reports; the AnomalyDetector adds id, subject, time and detector name. */
export interface Finding {
  readonly observed: number;
  readonly baseline: number;
  readonly score: number;
  readonly window: string;
  readonly examples: readonly string[];
}
