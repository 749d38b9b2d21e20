import type { SubscribeOptions, Transport, TransportCapabilities } from '@a2a-bus/core';

/** Common transport options a case sets for itself (limits), merged over the factory's own. */
export interface TransportOverrides {
  readonly maxEnvelopeBytes?: number;
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
  /** Multiplies every wait; slow backends (Kafka rebalances) want more. Default 1. */
  readonly timeoutMultiplier?: number;
  /** Unique topic name per case. Default `conf-<case>-<random>`. */
  readonly topicName?: (caseName: string) => string;
  /** Defaults merged into every subscribe (e.g. shorter timers for tests). */
  readonly subscribeDefaults?: Partial<SubscribeOptions>;
  /**
   * Broker restart: a transport factory bound to a broker the suite may restart, and the
   * restart itself (stop, start again with its data, resolve when it accepts clients).
   */
  readonly restart?: {
    readonly createTransport: () => Transport | Promise<Transport>;
    readonly restartBroker: () => Promise<void>;
  };
  /** Runs after each case's transports are closed (e.g. delete topics). */
  readonly cleanup?: (topics: readonly string[]) => Promise<void>;
}
