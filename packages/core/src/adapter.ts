// @a2a-bus/core/adapter — the toolkit for adapter authors: the shared consumer machinery
// (per-key dispatch, partition leases, contiguous commits, dead letters), option parsing, the
// transport skeleton, clocks and key placement. Applications do not need any of it.
export { KeyedDispatcher, backoff } from './consumer/keyed-dispatcher.js';
export type { InboundRecord, Settlement, DispatcherBackend, KeyedDispatcherOptions } from './consumer/keyed-dispatcher.js';
export { AckedPrefix } from './consumer/acked-prefix.js';
export { PartitionBalancer, SoleMemberLeaseStore } from './consumer/partition-balancer.js';
export type { LeaseStore, PartitionBalancerOptions } from './consumer/partition-balancer.js';
export { buildDeadLetter, buildMinimalDeadLetter, describeError, type DeadLetterInput } from './consumer/dead-letter.js';
export { type Clock, systemClock, sleep, ManualClock } from './clock.js';
export { commonTransportOptions, parseOptions } from './options.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export { safeInstrumentation, isSilentHook, reportError } from './instrumentation.js';
export { TransportLifecycle, type TransportLifecycleOptions } from './transport-lifecycle.js';
export { encodeEnvelopeWithin, encodeEnvelopeTextWithin, assertEnvelopeWithin, envelopeByteLength } from './limits.js';
export { EPHEMERAL_GROUP_PREFIX, ephemeralGroupName, ephemeralGroupAge } from './ephemeral.js';
export {
  brokerRetentionSchema,
  retentionForTopic,
  runtimeTopicRole,
  DEFAULT_BROKER_RETENTION,
  type BrokerRetention,
  type BrokerRetentionInput,
  type TopicRetention,
  type RuntimeTopicRole,
} from './broker-retention.js';
export { RetentionTrimmer, type RetentionTrimmerOptions, type TrimRound } from './retention-trimmer.js';
