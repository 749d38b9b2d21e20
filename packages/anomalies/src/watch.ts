import { randomUUID } from 'node:crypto';
import { runtimeTopics, type Subscription, type Transport } from '@a2a-bus/core';
import { AnomalyDetector } from './anomaly-detector.js';
import type { AnomalyDetectorOptions } from './options.js';
import { observeRegistryRecord, observeWorkflowRecord } from './runtime-records.js';

export interface BusWatcher {
  readonly detector: AnomalyDetector;
  close(): Promise<void>;
}

/**
 * An independent observer (`a2a-bus watch`): reads the runtime's workflow log and agent
 * registry with groups of its own, from now on, and runs the detectors over every agent's
 * traffic. Anomalies are published to `<namespace>.anomalies` on `transport`.
 */
export async function watchBus(transport: Transport, options: Omit<AnomalyDetectorOptions, 'transport'> = {}): Promise<BusWatcher> {
  const detector = new AnomalyDetector({ ...options, transport });
  const topics = runtimeTopics(options.namespace ?? 'a2a');
  const id = `watch-${detector.detectorId}-${randomUUID().slice(0, 6)}`;
  await transport.connect();
  const subscriptions: Subscription[] = [];
  subscriptions.push(
    await transport.subscribe(topics.registry, (d) => observeRegistryRecord(detector, d.envelope), {
      group: `${id}-registry`,
      startFrom: 'latest',
      deadLetterTopic: false,
      ephemeral: true,
    }),
    await transport.subscribe(topics.workflows, (d) => observeWorkflowRecord(detector, d.envelope), {
      group: `${id}-workflows`,
      startFrom: 'latest',
      deadLetterTopic: false,
      ephemeral: true,
    }),
  );
  detector.start();
  return {
    detector,
    async close() {
      await Promise.allSettled(subscriptions.map((s) => s.close()));
      await detector.close();
    },
  };
}
