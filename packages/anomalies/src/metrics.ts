import type { Anomaly, AnomalyKind } from './anomaly.js';

/** Counters of anomalies raised, by kind and by subject: the metric others export (OpenTelemetry, Prometheus). */
export class AnomalyMetrics {
  private total = 0;
  private readonly kinds = new Map<AnomalyKind, number>();
  private readonly subjects = new Map<string, number>();

  count(anomaly: Anomaly): void {
    this.total += 1;
    this.kinds.set(anomaly.kind, (this.kinds.get(anomaly.kind) ?? 0) + 1);
    const subject = `${anomaly.kind} ${anomaly.capability ?? '-'} ${anomaly.agent ?? '-'}`;
    this.subjects.set(subject, (this.subjects.get(subject) ?? 0) + 1);
    if (this.subjects.size > 10_000) this.subjects.delete(this.subjects.keys().next().value!);
  }

  /** `a2a_bus_anomalies_total` overall and per kind. */
  snapshot(): { total: number; byKind: Partial<Record<AnomalyKind, number>> } {
    return { total: this.total, byKind: Object.fromEntries(this.kinds) };
  }
}
