import type { TransportCapabilities } from '@a2a-bus/core';

export const memoryCapabilities: TransportCapabilities = {
  durablePublish: { support: 'emulated', note: 'kept in process memory; lives as long as the MemoryBroker' },
  batchPublish: { support: 'native', note: 'validated as a whole, then appended' },
  perKeyOrder: { support: 'native', note: 'murmur2 partitions; one member per partition; one message per key in flight' },
  orderAcrossRedelivery: { support: 'native', note: 'a nack holds its key until the retry; pending entries go first to the next owner' },
  consumerGroups: { support: 'native', note: 'per-group cursors and pending entries' },
  rebalance: { support: 'native', note: 'partition p to member p mod n; hand-over after the old owner drained' },
  crashRedelivery: {
    support: 'native',
    note: 'a member that leaves without draining, or whose handler outlasts ackTimeoutMs, orphans its pending entries; the next owner gets them first',
  },
  delayedNack: { support: 'native', note: 'in-process timer on the injectable clock' },
  term: { support: 'native', note: 'settles without redelivery' },
  deadLetter: { support: 'native', note: '<topic>.dlq after maxAttempts, and for undecodable bytes' },
  replayFromOffset: { support: 'native', note: 'reads the log; no group touched' },
  replayFromTimestamp: { support: 'native', note: 'first record at or after the instant, per partition' },
  backpressure: { support: 'native', note: 'records are handed out only while maxInFlight has room' },
  brokerRestart: { support: 'emulated', note: 'every client torn down and rebuilt on the same MemoryBroker' },
  lag: { support: 'native', note: 'cursor and pending entries per group and partition; age of the oldest unacknowledged record' },
};
