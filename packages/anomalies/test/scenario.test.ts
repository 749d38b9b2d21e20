import { mkdirSync, writeFileSync } from 'node:fs';
import { AnomalyDetector } from '@a2a-bus/anomalies';
import { describe, expect, it } from 'vitest';
import { runScenario, type InjectedFault } from './src/scenario.js';

const kinds: InjectedFault['kind'][] = [
  'slowdown',
  'tail-slowdown',
  'retry-storm',
  'payload-spike',
  'dead-letter-burst',
  'redelivery-storm',
  'lag-growth',
  'throughput-collapse',
  'agent-silent',
];
const capabilities = ['summarize', 'translate', 'classify', 'search', 'plan', 'review'];

describe('anomaly detection over a scripted scenario (simulated clock)', () => {
  it('finds at least 90% of 27 injected faults with at least 90% precision; figures in reports/anomalies-scenario.json', () => {
    // 27 faults, 3 of each of the 9 kinds, on rotating capabilities, 60 s apart after a 120 s warm-up, 20 s each.
    const faults: InjectedFault[] = Array.from({ length: 27 }, (_, i) => ({
      kind: kinds[i % kinds.length]!,
      capability: capabilities[(i * 5) % capabilities.length]!,
      start: 120 + i * 60,
      durationS: 20,
    }));
    const clock = { now: 0 };
    const detector = new AnomalyDetector({
      namespace: 'sim',
      tickMs: 1_000,
      silentAfterMs: 5_000,
      stallThresholdMs: 0, // simulated time: this process's real stalls are beside the point
      clock: { now: () => clock.now, setTimeout: () => 0, clearTimeout: () => {} },
    });
    const started = process.cpuUsage();
    const result = runScenario(detector, clock, faults, { capabilities, ratePerS: 20, seconds: 120 + 27 * 60 + 60, namespace: 'sim' });
    const cpu = process.cpuUsage(started);
    const cpuMsPer10k = ((cpu.user + cpu.system) / 1_000 / result.events) * 10_000;
    const report = {
      ...result,
      cpuMsPer10kEvents: Number(cpuMsPer10k.toFixed(2)),
      missed: result.missed,
      falseAlerts: result.falseAlerts.map((a) => a.message),
    };
    mkdirSync('reports', { recursive: true });
    writeFileSync('reports/anomalies-scenario.json', `${JSON.stringify(report, null, 2)}\n`);
    console.info(
      `scenario: ${result.faults} faults, ${result.detected} detected (recall ${result.recall.toFixed(3)}), ${result.alerts} alerts, ${result.truePositives} true (precision ${result.precision.toFixed(3)}), mean delay ${result.meanDelayS.toFixed(1)} s, ${result.events} events, ${cpuMsPer10k.toFixed(1)} ms CPU per 10k events`,
    );
    expect(result.recall).toBeGreaterThanOrEqual(0.9);
    expect(result.precision).toBeGreaterThanOrEqual(0.9);
  });
});
