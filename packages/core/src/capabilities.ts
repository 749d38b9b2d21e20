/**
 * How a transport provides a feature: by the backend itself, by a2a-bus on top of the
 * backend, or not at all. The conformance suite runs a feature's cases unless it is
 * `none`, and the README's capability table is generated from these declarations.
 */
export type Support = 'native' | 'emulated' | 'none';

export interface Capability {
  readonly support: Support;
  /** One line on how it is done and what it costs, shown in the capability table. */
  readonly note: string;
}

export const capabilityNames = [
  'durablePublish',
  'batchPublish',
  'perKeyOrder',
  'orderAcrossRedelivery',
  'consumerGroups',
  'rebalance',
  'crashRedelivery',
  'delayedNack',
  'term',
  'deadLetter',
  'replayFromOffset',
  'replayFromTimestamp',
  'backpressure',
  'brokerRestart',
  'lag',
] as const;

export type CapabilityName = (typeof capabilityNames)[number];

export type TransportCapabilities = { readonly [K in CapabilityName]: Capability };

/** Human-readable labels, in table order. */
export const capabilityLabels: Readonly<Record<CapabilityName, string>> = {
  durablePublish: 'Durable publish (resolves after the broker accepted it)',
  batchPublish: 'Batch publish',
  perKeyOrder: 'Per-key order, parallel across keys',
  orderAcrossRedelivery: 'Per-key order kept through redelivery',
  consumerGroups: 'Consumer groups (competing members, independent groups)',
  rebalance: 'Rebalance on join / leave',
  crashRedelivery: 'Unacked messages of a dead member redelivered',
  delayedNack: 'nack(delay)',
  term: 'term (never redeliver)',
  deadLetter: 'Dead-letter topic after maxAttempts',
  replayFromOffset: 'Replay from beginning / offset',
  replayFromTimestamp: 'Replay from timestamp',
  backpressure: 'Bounded in-flight (backpressure)',
  brokerRestart: 'Acknowledged messages survive a broker restart',
  lag: 'Consumer lag per group and partition (inspectLag)',
};
