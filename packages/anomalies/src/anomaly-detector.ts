import { randomUUID } from 'node:crypto';
import { silentLogger, type Instrumentation, type Logger, type Transport } from '@a2a-bus/core';
import { systemClock, type Clock } from '@a2a-bus/core/adapter';
import { anomalySubject, type Anomaly, type AnomalyKind } from './anomaly.js';
import { publishAnomaly } from './anomaly-topic.js';
import { BoundedMap } from './bounded-map.js';
import { CapabilitySeries } from './capability-series.js';
import type { Finding } from './detectors/finding.js';
import { LagGrowthDetector } from './detectors/lag-growth-detector.js';
import { SilenceDetector } from './detectors/silence-detector.js';
import { StallMonitor } from './stall-monitor.js';
import { AnomalyMetrics } from './metrics.js';
import { parseAnomalyDetectorOptions, type AnomalyDetectorOptions, type ParsedAnomalyDetectorOptions } from './options.js';
import { WorkTracker } from './work-tracker.js';

/**
 * Streaming anomaly detection for one process's view of the bus. Feed it in either (or
 * both) of two ways:
 * - in-process: pass `detector.instrumentation` to the transport; it sees that process's
 *   publishes, deliveries and settlements (handler latency, retries, dead letters,
 *   redeliveries, payload sizes, throughput);
 * - as an observer: `observeWorkflowRecord` / `observeRegistryRecord` with the runtime's workflow and
 *   registry records (what `watchBus` does), which shows every agent's tasks and heartbeats.
 * Lag comes from the `lag` option. Anomalies go to `onAnomaly`, to `<namespace>.anomalies`
 * when a transport is given, and to `metrics`.
 */
export class AnomalyDetector {
  readonly detectorId: string;
  readonly metrics = new AnomalyMetrics();
  readonly tracker = new WorkTracker();
  readonly instrumentation: Instrumentation;
  private readonly options: ParsedAnomalyDetectorOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly series: BoundedMap<string, CapabilitySeries>;
  /** Latency per capability and agent (watch mode): one slow instance among healthy peers. */
  private readonly agentSeries: BoundedMap<string, CapabilitySeries>;
  private readonly lagSeries: BoundedMap<string, LagGrowthDetector>;
  readonly silence: SilenceDetector;
  /** Ids nacked lately here: their redelivery is a retry, not an unexplained redelivery. */
  private readonly nacked = new Set<string>();
  private readonly listeners = new Set<(anomaly: Anomaly) => void>();
  private readonly taskPrefix: string;
  private tickTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  private transport: Transport | undefined;
  private readonly publishing = new Set<Promise<void>>();
  private readonly stalls: StallMonitor | undefined;

  constructor(options: AnomalyDetectorOptions = {}) {
    this.options = parseAnomalyDetectorOptions(options);
    this.detectorId = this.options.detectorId ?? `detector-${randomUUID().slice(0, 8)}`;
    this.logger = (this.options.logger ?? silentLogger).child({ component: 'anomalies', detector: this.detectorId });
    this.clock = this.options.clock ?? systemClock;
    this.series = new BoundedMap(this.options.maxSeries);
    this.agentSeries = new BoundedMap(this.options.maxSeries);
    this.lagSeries = new BoundedMap(this.options.maxSeries);
    this.silence = new SilenceDetector(this.options.silentAfterMs);
    this.taskPrefix = `${this.options.namespace}.tasks.`;
    if (this.options.onAnomaly) this.listeners.add(this.options.onAnomaly);
    this.transport = this.options.transport;
    if (this.options.stallThresholdMs > 0) {
      this.stalls = new StallMonitor(50, this.options.stallThresholdMs);
      this.stalls.start();
    }
    this.instrumentation = this.buildInstrumentation();
  }

  /** Starts the time-window and lag timers (unless `tickMs` is 0). */
  start(): this {
    const { tickMs, lag, lagIntervalMs } = this.options;
    if (tickMs > 0 && !this.tickTimer) this.tickTimer = setInterval(() => this.tick(), tickMs).unref();
    if (lag && !this.lagTimer) this.lagTimer = setInterval(() => void this.sampleLag(), lagIntervalMs).unref();
    return this;
  }

  /** Stops the timers and waits for anomalies being published. */
  async close(): Promise<void> {
    clearInterval(this.tickTimer);
    clearInterval(this.lagTimer);
    this.stalls?.stop();
    this.tickTimer = undefined;
    this.lagTimer = undefined;
    await Promise.allSettled([...this.publishing]);
  }

  /**
   * Publishes anomalies to `<namespace>.anomalies` on `transport` from now on (for when the
   * transport is built after the detector, to carry its instrumentation).
   */
  publishTo(transport: Transport): this {
    this.transport = transport;
    return this;
  }

  /** Adds a listener; returns a function that removes it. */
  onAnomaly(listener: (anomaly: Anomaly) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The capability a topic stands for, or undefined for topics not watched. */
  capabilityOf(topic: string): string | undefined {
    if (topic.startsWith(this.taskPrefix) && !topic.endsWith('.dlq')) return topic.slice(this.taskPrefix.length);
    if (!this.options.allTopics || topic.startsWith(`${this.options.namespace}.`)) return undefined;
    return topic;
  }

  seriesOf(capability: string): CapabilitySeries {
    return this.series.ensure(capability, () => new CapabilitySeries(this.options));
  }

  agentSeriesOf(capability: string, agent: string): CapabilitySeries {
    return this.agentSeries.ensure(`${capability}\u0000${agent}`, () => new CapabilitySeries(this.options));
  }

  /** Capabilities seen so far (bounded by `maxSeries`). */
  capabilities(): string[] {
    return [...this.series.entries()].map(([capability]) => capability);
  }

  /** Closes one time window: throughput per capability, silent agents holding work. */
  tick(now = this.clock.now()): void {
    const heldByCapability = new Map<string, number>();
    const holders = this.tracker.byHolder();
    for (const tasks of holders.values()) for (const task of tasks) heldByCapability.set(task.capability, (heldByCapability.get(task.capability) ?? 0) + 1);
    for (const [capability, series] of this.series.entries()) {
      const held = series.inFlight + (heldByCapability.get(capability) ?? 0);
      this.report('throughput-collapse', { capability }, series.throughput.closeWindow(held, this.options.tickMs));
    }
    for (const [holder, tasks] of holders) {
      const finding = this.silence.check(holder, tasks, now);
      if (finding) this.report('agent-silent', { capability: tasks[0]!.capability, agent: holder }, finding);
    }
  }

  /** Samples lag once from the `lag` option (the timer does this every `lagIntervalMs`). */
  async sampleLag(): Promise<void> {
    const { lag } = this.options;
    if (!lag || this.sampling) return;
    this.sampling = true;
    try {
      this.observeLag(await lag());
    } catch (error) {
      this.logger.warn({ err: error }, 'lag sampling failed');
    } finally {
      this.sampling = false;
    }
  }

  /** Feeds one round of lag samples (every partition of every group watched). */
  observeLag(samples: readonly { topic: string; group: string; lag: number }[]): void {
    const totals = new Map<string, { topic: string; group: string; lag: number }>();
    for (const sample of samples) {
      const key = `${sample.topic}\u0000${sample.group}`;
      const total = totals.get(key);
      if (total) total.lag += sample.lag;
      else totals.set(key, { topic: sample.topic, group: sample.group, lag: sample.lag });
    }
    for (const [key, { topic, group, lag }] of totals) {
      const finding = this.lagSeries.ensure(key, () => new LagGrowthDetector(this.options.lagGrowth)).observe(lag);
      this.report('lag-growth', { capability: this.capabilityOf(topic) ?? topic, agent: `group ${group}` }, finding);
    }
  }

  /** Turns a detector finding into an anomaly and delivers it. */
  report(kind: AnomalyKind, subject: { capability?: string; agent?: string }, finding: Finding | undefined): void {
    if (!finding) return;
    const agent = subject.agent ?? this.options.agent;
    const anomaly: Anomaly = {
      id: randomUUID(),
      kind,
      ...(subject.capability ? { capability: subject.capability } : {}),
      ...(agent ? { agent } : {}),
      ...finding,
      at: new Date(this.clock.now()).toISOString(),
      detector: this.detectorId,
      message: describe(kind, anomalySubject({ capability: subject.capability, agent }), finding),
    };
    this.metrics.count(anomaly);
    this.logger.warn({ anomaly }, 'anomaly');
    for (const listener of this.listeners) {
      try {
        listener(anomaly);
      } catch (error) {
        this.logger.warn({ err: error }, 'anomaly listener threw; ignored');
      }
    }
    const { transport } = this;
    if (transport) {
      const publishing = publishAnomaly(transport, this.options.namespace, anomaly).catch((error: unknown) => {
        this.logger.warn({ err: error, anomaly: anomaly.id }, 'publishing an anomaly failed');
      });
      this.publishing.add(publishing);
      void publishing.finally(() => this.publishing.delete(publishing));
    }
  }

  private buildInstrumentation(): Instrumentation {
    const settled = (topic: string, id: string, handlerMs: number, retried: boolean): CapabilitySeries | undefined => {
      const capability = this.capabilityOf(topic);
      if (!capability) return undefined;
      const series = this.seriesOf(capability);
      series.inFlight = Math.max(0, series.inFlight - 1);
      // A run that overlapped a stall of this process measured the process, not the agent.
      const end = performance.now();
      if (!this.stalls?.overlaps(end - handlerMs, end)) this.report('handler-latency', { capability }, series.observeLatency(handlerMs, id, this.clock.now()));
      this.report('retry-rate', { capability }, series.retryRate.observe(retried, id));
      return series;
    };
    return {
      onPublish: (event) => {
        const capability = this.capabilityOf(event.topic);
        if (!capability) return;
        const series = this.seriesOf(capability);
        series.throughput.arrive(event.id);
        this.report('payload-size', { capability }, series.payloadSize.observe(event.bytes, event.id, this.clock.now()));
      },
      onDeliver: (event) => {
        const capability = this.capabilityOf(event.topic);
        if (!capability) return;
        const series = this.seriesOf(capability);
        series.inFlight += 1;
        series.throughput.arrive(event.id);
        const explained = this.nacked.delete(event.id);
        this.report('redelivery-rate', { capability }, series.redeliveryRate.observe(event.attempt > 1 && !explained, event.id));
      },
      onAck: (event) => {
        const series = settled(event.topic, event.id, event.handlerMs, false);
        if (!series) return;
        series.throughput.complete();
        this.report('dead-letter-rate', { capability: this.capabilityOf(event.topic)! }, series.deadLetterRate.observe(false, event.id));
      },
      onTerm: (event) => {
        const series = settled(event.topic, event.id, event.handlerMs, false);
        if (!series) return;
        series.throughput.complete();
        this.report('dead-letter-rate', { capability: this.capabilityOf(event.topic)! }, series.deadLetterRate.observe(false, event.id));
      },
      onNack: (event) => {
        if (!settled(event.topic, event.id, event.handlerMs, true)) return;
        this.nacked.add(event.id);
        if (this.nacked.size > 4_096) this.nacked.delete(this.nacked.values().next().value!);
      },
      onDeadLetter: (event) => {
        const capability = this.capabilityOf(event.topic);
        if (!capability) return;
        const series = this.seriesOf(capability);
        series.throughput.complete();
        this.nacked.delete(event.id);
        this.report('dead-letter-rate', { capability }, series.deadLetterRate.observe(true, event.id));
      },
    };
  }
}

function describe(kind: AnomalyKind, subject: string, finding: Finding): string {
  const n = (value: number): string => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3));
  switch (kind) {
    case 'handler-latency':
      return `${subject}: handler latency ${n(finding.observed)} ms vs ${n(finding.baseline)} ms normal (${finding.window})`;
    case 'payload-size':
      return `${subject}: payload of ${n(finding.observed)} bytes vs ${n(finding.baseline)} bytes normal`;
    case 'retry-rate':
    case 'dead-letter-rate':
    case 'redelivery-rate':
      return `${subject}: ${kind} ${(finding.observed * 100).toFixed(0)}% vs ${(finding.baseline * 100).toFixed(0)}% normal over ${finding.window}`;
    case 'lag-growth':
      return `${subject}: lag grew from ${n(finding.baseline)} to ${n(finding.observed)} over ${finding.window}`;
    case 'agent-silent':
      return `${subject}: ${finding.window}`;
    case 'throughput-collapse':
      return `${subject}: ${n(finding.observed)} completions per window vs ${n(finding.baseline)} normal, with work waiting`;
  }
}

/** Creates an anomaly detector; `start()` it for the time-window checks. */
export function createAnomalyDetector(options: AnomalyDetectorOptions = {}): AnomalyDetector {
  return new AnomalyDetector(options);
}
