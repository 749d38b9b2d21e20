import { describe, expect, it } from 'vitest';
import { LagGrowthDetector } from '../src/detectors/lag-growth-detector.js';
import { RateDetector } from '../src/detectors/rate-detector.js';
import { SilenceDetector } from '../src/detectors/silence-detector.js';
import { TailDetector } from '../src/detectors/tail-detector.js';
import { ThroughputDetector } from '../src/detectors/throughput-detector.js';
import { ValueDetector } from '../src/detectors/value-detector.js';
import { RobustBaseline } from '../src/robust-baseline.js';
import { StallMonitor } from '../src/stall-monitor.js';

/** Deterministic jitter: a small LCG, so the cases cannot pass or fail by luck. */
function jitter(seed = 7): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const latency = { warmup: 50, sensitivity: 4, minRatio: 3, recent: 7, raiseAfter: 8, minDurationMs: 0, span: 200, clearAfter: 20, floor: 1 };

describe('RobustBaseline', () => {
  it('centres on the typical value and is not dragged by outliers', () => {
    const baseline = new RobustBaseline(100);
    const random = jitter();
    for (let i = 0; i < 500; i++) baseline.add(i % 50 === 0 ? 1_000 : 10 + random());
    expect(baseline.center).toBeGreaterThan(9.5);
    expect(baseline.center).toBeLessThan(12);
    expect(baseline.score(10.5)).toBeLessThan(2);
    expect(baseline.score(1_000)).toBeGreaterThan(50);
  });
});

describe('ValueDetector (handler latency)', () => {
  it('stays quiet during warm-up and under jitter, then catches a 10x slowdown within 15 events, once', () => {
    const detector = new ValueDetector(latency);
    const random = jitter();
    const findings = [];
    for (let i = 0; i < 2_000; i++) {
      const found = detector.observe(8 + 8 * random(), `m${i}`);
      if (found) findings.push(found);
    }
    expect(findings).toEqual([]);
    let detectedAt = -1;
    for (let i = 0; i < 100; i++) {
      const found = detector.observe(10 * (8 + 8 * random()), `slow${i}`);
      if (found) {
        findings.push(found);
        if (detectedAt < 0) detectedAt = i;
      }
    }
    expect(findings).toHaveLength(1); // hysteresis: one alarm for a sustained shift
    expect(detectedAt).toBeGreaterThanOrEqual(0);
    expect(detectedAt).toBeLessThan(15);
    expect(findings[0]!.observed / findings[0]!.baseline).toBeGreaterThan(5);
    expect(findings[0]!.examples[0]).toMatch(/^slow/);
  });

  it('ignores a short stall that slows up to 6 events in a row', () => {
    const detector = new ValueDetector(latency);
    const random = jitter(3);
    for (let i = 0; i < 200; i++) expect(detector.observe(8 + 8 * random(), `m${i}`)).toBeUndefined();
    for (let i = 0; i < 6; i++) expect(detector.observe(200, `stall${i}`)).toBeUndefined();
    for (let i = 0; i < 50; i++) expect(detector.observe(8 + 8 * random(), `n${i}`)).toBeUndefined();
  });

  it('clears when the series returns, and raises again on a new shift', () => {
    const detector = new ValueDetector(latency);
    let raised = 0;
    const feed = (value: number, n: number): void => {
      for (let i = 0; i < n; i++) if (detector.observe(value * (1 + (i % 5) / 10), `x${i}`)) raised++;
    };
    feed(10, 200);
    feed(100, 50);
    feed(10, 100);
    feed(100, 50);
    expect(raised).toBe(2);
  });

  it('as a payload-size detector, flags one 100x message and not 2x variation', () => {
    const detector = new ValueDetector({ ...latency, recent: 1, raiseAfter: 1, sensitivity: 6, minRatio: 10, floor: 64 });
    const random = jitter(11);
    for (let i = 0; i < 500; i++) expect(detector.observe(600 + 600 * random(), `p${i}`)).toBeUndefined();
    const found = detector.observe(90_000, 'huge');
    expect(found?.examples).toEqual(['huge']);
    expect(detector.observe(700, 'after')).toBeUndefined();
  });
});

describe('RateDetector', () => {
  const options = { windowEvents: 20, warmupWindows: 5, sensitivity: 4, minDelta: 0.15, clearAfter: 3 };

  it('catches a 50% retry storm within two windows; a stray retry is not one', () => {
    const detector = new RateDetector(options);
    const random = jitter(5);
    for (let i = 0; i < 2_000; i++) expect(detector.observe(i === 777, `ok${i}`)).toBeUndefined();
    let detectedAt = -1;
    for (let i = 0; i < 200; i++) {
      const found = detector.observe(random() < 0.5, `e${i}`);
      if (found && detectedAt < 0) {
        detectedAt = i;
        expect(found.observed).toBeGreaterThan(0.25);
        expect(found.examples.length).toBeGreaterThan(0);
      } else if (found) throw new Error('raised twice');
    }
    expect(detectedAt).toBeGreaterThanOrEqual(0);
    expect(detectedAt).toBeLessThan(40);
  });
});

describe('LagGrowthDetector', () => {
  it('flags lag rising for 5 samples, not a steady or falling lag', () => {
    const detector = new LagGrowthDetector({ windows: 5, minLag: 20 });
    for (const lag of [30, 31, 30, 31, 30, 31, 29]) expect(detector.observe(lag)).toBeUndefined();
    const found = [40, 60, 80, 100, 120].map((lag) => detector.observe(lag));
    expect(found.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(found[4]?.observed).toBe(120);
    expect(detector.observe(140)).toBeUndefined(); // still the same alarm
  });
});

describe('ThroughputDetector', () => {
  it('flags completions collapsing while work waits; an idle capability is not a collapse', () => {
    const detector = new ThroughputDetector({ warmupWindows: 5, collapseRatio: 0.1, minBaseline: 5, raiseAfter: 3 });
    const window = (completions: number, arrivals: number, held = 0) => {
      for (let i = 0; i < completions; i++) detector.complete();
      for (let i = 0; i < arrivals; i++) detector.arrive(`w${i}`);
      return detector.closeWindow(held, 1_000);
    };
    for (let i = 0; i < 20; i++) expect(window(50, 50)).toBeUndefined();
    for (let i = 0; i < 10; i++) expect(window(0, 0)).toBeUndefined(); // idle
    expect(window(0, 10, 8)).toBeUndefined();
    expect(window(0, 10, 8)).toBeUndefined();
    expect(window(0, 10, 8)?.baseline).toBeGreaterThan(40);
  });
});

describe('SilenceDetector', () => {
  it('flags an agent holding work and silent past the limit, once per silence', () => {
    const detector = new SilenceDetector(1_000);
    const held = [{ taskId: 't1', workflowId: 'w', capability: 'c', holder: 'bus-a', since: 0 }];
    detector.heard('bus-a', 0);
    expect(detector.check('bus-a', held, 900)).toBeUndefined();
    expect(detector.check('bus-a', [], 5_000)).toBeUndefined(); // silent but holds nothing
    expect(detector.check('bus-a', held, 1_500)?.examples).toEqual(['t1']);
    expect(detector.check('bus-a', held, 2_500)).toBeUndefined();
    detector.heard('bus-a', 3_000);
    expect(detector.check('bus-a', held, 4_100)?.observed).toBe(1_100);
  });
});

describe('ValueDetector minimum duration', () => {
  it('a stall that slows 30 in-flight handlers at one instant is not a slowdown; 1 s of it is', () => {
    const detector = new ValueDetector({ ...latency, minDurationMs: 1_000 });
    const random = jitter(9);
    let t = 0;
    for (let i = 0; i < 200; i++) expect(detector.observe(8 + 8 * random(), `m${i}`, (t += 5))).toBeUndefined();
    for (let i = 0; i < 30; i++) expect(detector.observe(200, `stall${i}`, t + i * 0.1)).toBeUndefined();
    for (let i = 0; i < 30; i++) expect(detector.observe(8 + 8 * random(), `n${i}`, (t += 5))).toBeUndefined();
    const raised = Array.from({ length: 40 }, (_, i) => detector.observe(150, `slow${i}`, (t += 50))).filter(Boolean);
    expect(raised).toHaveLength(1);
  });
});

describe('TailDetector (p95 latency)', () => {
  const options = { size: 64, rank: 3, every: 16, warmupChecks: 8, sensitivity: 4, minRatio: 3, raiseAfter: 4, minDurationMs: 0, clearAfter: 4, floor: 1 };

  it('catches one request in ten turning 20x slower, which leaves the median alone; rare single stalls do not', () => {
    const tail = new TailDetector(options);
    const median = new ValueDetector({ ...latency, minDurationMs: 0 });
    const random = jitter(21);
    for (let i = 0; i < 3_000; i++) {
      const value = (8 + 8 * random()) * (random() < 0.002 ? 20 : 1);
      expect(tail.observe(value, `m${i}`)).toBeUndefined();
      expect(median.observe(value, `m${i}`)).toBeUndefined();
    }
    const found = [];
    for (let i = 0; i < 200; i++) {
      const value = (8 + 8 * random()) * (random() < 0.1 ? 20 : 1);
      expect(median.observe(value, `t${i}`)).toBeUndefined();
      const f = tail.observe(value, `t${i}`);
      if (f) found.push({ at: i, f });
    }
    expect(found).toHaveLength(1);
    expect(found[0]!.at).toBeLessThan(128);
    expect(found[0]!.f.observed / found[0]!.f.baseline).toBeGreaterThan(5);
  });
});

describe('StallMonitor', () => {
  it('marks the time this process was blocked, so runs overlapping it can be set aside', async () => {
    const monitor = new StallMonitor(20, 100);
    monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const before = performance.now();
    while (performance.now() - before < 300) {
      // block the event loop for 300 ms, as a long GC pause or a starved CPU would
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    monitor.stop();
    expect(monitor.overlaps(before + 50, before + 250)).toBe(true);
    const after = performance.now();
    expect(monitor.overlaps(after + 1_000, after + 2_000)).toBe(false);
  });
});
