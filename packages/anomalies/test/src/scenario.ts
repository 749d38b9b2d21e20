import type { Anomaly, AnomalyDetector, AnomalyKind } from '@a2a-bus/anomalies';

/** One injected fault: on one capability, from `start` for `durationS` simulated seconds. */
export interface InjectedFault {
  readonly kind:
    | 'slowdown'
    | 'tail-slowdown'
    | 'retry-storm'
    | 'payload-spike'
    | 'dead-letter-burst'
    | 'redelivery-storm'
    | 'lag-growth'
    | 'throughput-collapse'
    | 'agent-silent';
  readonly capability: string;
  readonly start: number;
  readonly durationS: number;
}

/** The anomaly kinds that count as detecting a fault (a dead-letter burst retries first, so retry-rate counts too). */
export const expectedKinds: Record<InjectedFault['kind'], readonly AnomalyKind[]> = {
  slowdown: ['handler-latency'],
  'tail-slowdown': ['handler-latency'],
  'retry-storm': ['retry-rate'],
  'payload-spike': ['payload-size'],
  'dead-letter-burst': ['dead-letter-rate', 'retry-rate'],
  'redelivery-storm': ['redelivery-rate'],
  'lag-growth': ['lag-growth'],
  'throughput-collapse': ['throughput-collapse'],
  'agent-silent': ['agent-silent'],
};

/** Deterministic randomness (an LCG), so the figures are reproducible. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

export interface ScenarioResult {
  readonly faults: number;
  readonly detected: number;
  readonly alerts: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  readonly events: number;
  readonly missed: InjectedFault[];
  readonly falseAlerts: Anomaly[];
  readonly meanDelayS: number;
}

/**
 * Simulated traffic for `capabilities` at `ratePerS` messages per second each, fed to the
 * detector's instrumentation, lag and registry inputs second by second on a simulated clock,
 * with faults injected per the script. Normal traffic has log-normal latency jitter with rare
 * 20x stalls, ±50% payload sizes with rare 4x ones, 0.5% retries and lag noise.
 */
export function runScenario(
  detector: AnomalyDetector,
  clock: { now: number },
  faults: readonly InjectedFault[],
  options: { capabilities: readonly string[]; ratePerS: number; seconds: number; namespace: string },
): ScenarioResult {
  const random = seeded(42);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const alerts: Anomaly[] = [];
  detector.onAnomaly((a) => alerts.push(a));
  const hooks = detector.instrumentation;
  const lag = new Map<string, number>(options.capabilities.map((c) => [c, 0]));
  let events = 0;
  let seq = 0;
  const active = (capability: string, second: number, kind: InjectedFault['kind']): InjectedFault | undefined =>
    faults.find((f) => f.capability === capability && f.kind === kind && second >= f.start && second < f.start + f.durationS);

  for (let second = 0; second < options.seconds; second++) {
    for (const capability of options.capabilities) {
      const topic = `${options.namespace}.tasks.${capability}`;
      const agent = `bus-${capability}`;
      const base = { transport: 'sim', topic, partition: 0, group: `agents.${capability}`, lagMs: 1 };
      const spike = faults.find((f) => f.kind === 'payload-spike' && f.capability === capability && f.start === second);
      for (let i = 0; i < options.ratePerS; i++) {
        clock.now = second * 1_000 + (i * 1_000) / options.ratePerS;
        const id = `m${seq++}`;
        // Normal sizes vary ±50%, and 1 in 100 messages is 4x larger: big but not anomalous.
        const bytes = spike && i === 0 ? 50_000 : Math.round(400 * (1 + (random() - 0.5)) * (random() < 0.01 ? 4 : 1));
        hooks.onPublish!({ ...base, key: id, id, bytes, durationMs: 0.2 });
        const redelivered = active(capability, second, 'redelivery-storm') && random() < 0.3;
        const attempt = redelivered ? 2 : 1;
        if (redelivered) hooks.onRedeliver?.({ ...base, key: id, id, attempt });
        hooks.onDeliver!({ ...base, key: id, id, attempt });
        events += redelivered ? 3 : 2;
        if (active(capability, second, 'throughput-collapse')) continue; // the handler hangs
        // Log-normal jitter, plus 1 in 500 events stalled 20x (a GC pause, a slow call): noise, not a fault.
        const stall = random() < 0.002 ? 20 : 1;
        const tailSlow = active(capability, second, 'tail-slowdown') && random() < 0.1 ? 20 : 1; // one in ten 20x slower
        const handlerMs = 10 * Math.exp(0.3 * gaussian()) * stall * tailSlow * (active(capability, second, 'slowdown') ? 10 : 1);
        const settle = { ...base, key: id, id, attempt, handlerMs };
        if (active(capability, second, 'dead-letter-burst') && random() < 0.2) {
          hooks.onNack!({ ...settle, delayMs: 0, error: new Error('boom') });
          hooks.onDeadLetter!({
            transport: 'sim',
            topic,
            partition: 0,
            key: id,
            id,
            group: base.group,
            attempts: 5,
            reason: 'failed',
            deadLetterTopic: `${topic}.dlq`,
          });
          events += 2;
        } else if ((active(capability, second, 'retry-storm') && random() < 0.5) || random() < 0.005) {
          hooks.onNack!({ ...settle, delayMs: 0, error: new Error('flaky') });
          hooks.onAck!({ ...settle, attempt: attempt + 1 });
          events += 2;
        } else {
          hooks.onAck!(settle);
          events += 1;
        }
      }
      // The agent's heartbeat and the task it holds right now (from the workflow log, in watch mode).
      if (!active(capability, second, 'agent-silent')) detector.silence.heard(agent, second * 1_000);
      detector.tracker.start({ taskId: `t-${capability}-${second}`, workflowId: 'w', capability, holder: agent, since: second * 1_000 });
      detector.tracker.finish(`t-${capability}-${second - 1}`);
      const growing = active(capability, second, 'lag-growth');
      lag.set(capability, growing ? lag.get(capability)! + 15 : Math.floor(random() * 10));
    }
    clock.now = (second + 1) * 1_000;
    detector.observeLag(options.capabilities.map((c) => ({ topic: `${options.namespace}.tasks.${c}`, group: `agents.${c}`, partition: 0, lag: lag.get(c)! })));
    detector.tick(clock.now);
  }

  const graceS = 10;
  const matches = (alert: Anomaly, fault: InjectedFault): boolean => {
    const at = Date.parse(alert.at) / 1_000;
    return (
      expectedKinds[fault.kind].includes(alert.kind) &&
      alert.capability === fault.capability &&
      at >= fault.start &&
      at <= fault.start + fault.durationS + graceS
    );
  };
  const truePositives = alerts.filter((alert) => faults.some((fault) => matches(alert, fault)));
  const detectedFaults = faults.filter((fault) => alerts.some((alert) => matches(alert, fault)));
  const delays = detectedFaults.map((fault) => Math.min(...alerts.filter((a) => matches(a, fault)).map((a) => Date.parse(a.at) / 1_000 - fault.start)));
  return {
    faults: faults.length,
    detected: detectedFaults.length,
    alerts: alerts.length,
    truePositives: truePositives.length,
    precision: alerts.length ? truePositives.length / alerts.length : 1,
    recall: detectedFaults.length / faults.length,
    events,
    missed: faults.filter((fault) => !detectedFaults.includes(fault)),
    falseAlerts: alerts.filter((alert) => !truePositives.includes(alert)),
    meanDelayS: delays.reduce((a, b) => a + b, 0) / Math.max(1, delays.length),
  };
}
