export * from './errors/index.js';
export * from './a2a/schema.js';
export * from './envelope.js';
export * from './transport.js';
export * from './capabilities.js';
export * from './instrumentation.js';
export * from './logger.js';
export * from './clock.js';
export * from './options.js';
export * from './partitioner.js';
export * from './create-transport.js';
export { KeyedDispatcher, backoff } from './consumer/keyed-dispatcher.js';
export type { InboundRecord, Settlement, DispatcherBackend, KeyedDispatcherOptions } from './consumer/keyed-dispatcher.js';
export { AckedPrefix } from './consumer/acked-prefix.js';
export { PartitionBalancer } from './consumer/partition-balancer.js';
export type { LeaseStore, PartitionBalancerOptions } from './consumer/partition-balancer.js';
export { buildDeadLetter, describeError } from './consumer/dead-letter.js';
export { AgentBus, createAgentBus } from './runtime/agent-bus.js';
export type { AgentBusOptions, DispatchOptions, AuditEntry } from './runtime/agent-bus.js';
export type { TaskContext, TaskHandler, TaskResult } from './runtime/worker.js';
export { textArtifact } from './runtime/worker.js';
export type { LiveAgent } from './runtime/registry.js';
export { MemoryIdempotencyStore, type IdempotencyStore } from './runtime/idempotency.js';
export { userText, agentText, textOfParts, stateName, wireState, type TaskStateName } from './runtime/a2a.js';
export { runtimeTopics, runtimeHeaders, type RuntimeTopics } from './runtime/topics.js';
export {
  generateAgentKeys,
  agentKeysFromPem,
  signEnvelope,
  verifyEnvelope,
  trustHeaders,
  TrustPolicy,
  type AgentKeys,
  type SignatureStatus,
  type TrustOptions,
  type TrustPolicyInput,
} from './trust/index.js';
