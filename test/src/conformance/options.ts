import type { Instrumentation, SubscribeOptions, Transport, TransportCapabilities } from '@a2a-bus/core';

/** Common transport options a case sets for itself (limits), merged over the factory's own. */
export interface TransportOverrides {
  readonly maxEnvelopeBytes?: number;
  /** Hooks a case listens on (dead letters, errors); the factory merges them like any option. */
  readonly instrumentation?: Instrumentation;
}

export interface ConformanceOptions {
  /** Backend label; every case name starts with it, e.g. `[redis-streams] per-key order`. */
  readonly name: string;
  /**
   * A new, independent client each call: one call stands for one process. Cases that need
   * several group members create several transports.
   */
  readonly createTransport: (overrides?: TransportOverrides) => Transport | Promise<Transport>;
  /** What the transport declares; the suite checks each transport it creates declares the same. */
  readonly capabilities: TransportCapabilities;
  /** Partitions of the topics the factory's transports create. */
  readonly partitions: number;
  /**
   * The longest time (ms, before `timeoutMultiplier`) a delivered message that was never
   * settled — its ack or term lost — takes to come back to a live member of its group, with
   * the timers the factory configures: JetStream's AckWait, a Redis claim idle time plus the
   * sweep interval, the time a new Kafka member needs to fetch from the last commit, plus the
   * backend's fetch interval. Cases that assert "nothing more arrives" wait this long, so a
   * lost ack or a broken term fails them. Configure short timers in tests to keep it small.
   */
  readonly redeliveryBoundMs: number;
  /** Multiplies every wait; slow backends (Kafka rebalances) want more. Default 1. */
  readonly timeoutMultiplier?: number;
  /** Unique topic name per case. Default `conf-<case>-<random>`. */
  readonly topicName?: (caseName: string) => string;
  /** Defaults merged into every subscribe (e.g. shorter timers for tests). */
  readonly subscribeDefaults?: Partial<SubscribeOptions>;
  /**
   * Broker restart: a transport factory bound to a broker the suite may restart, and the
   * restart itself (stop, call `whileDown`, start again with its data, resolve when it
   * accepts clients).
   */
  readonly restart?: {
    readonly createTransport: () => Transport | Promise<Transport>;
    readonly restartBroker: (whileDown?: () => void) => Promise<void>;
  };
  /** Runs after each case's transports are closed (e.g. delete topics). */
  readonly cleanup?: (topics: readonly string[]) => Promise<void>;
}
