// @a2a-bus/core — what applications use: the envelope, the transport contract, capabilities,
// errors, the logger and instrumentation interfaces, createTransport and the agent runtime.
// What only adapter authors need lives in `@a2a-bus/core/adapter`.
export * from './errors/index.js';
export * from './a2a/schema.js';
export {
  A2A_JSON_CONTENT_TYPE,
  A2A_PROTOCOL_VERSION,
  ENVELOPE_VERSION,
  createEnvelope,
  deadLetterSchema,
  decodeEnvelope,
  encodeEnvelope,
  envelopeSchema,
  type DeadLetterRecord,
  type DecodeResult,
  type Envelope,
  type EnvelopeInput,
  type EnvelopeKind,
  type EnvelopeOf,
} from './envelope.js';
export * from './transport.js';
export * from './lag.js';
export * from './capabilities.js';
export { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_IN_FLIGHT_BYTES } from './limits.js';
export type {
  BusErrorEvent,
  BusErrorKind,
  DeadLetterEvent,
  DeliveryEvent,
  Instrumentation,
  MessageEventBase,
  NackEvent,
  PublishEvent,
  SettleEvent,
} from './instrumentation.js';
export { silentLogger, type Logger } from './logger.js';
export {
  createTransport,
  registerTransportAdapter,
  registeredTransportAdapters,
  type TransportAdapter,
  type TransportConfig,
  type CreateTransportOptions,
} from './create-transport.js';
export { AgentBus, createAgentBus } from './runtime/agent-bus.js';
export type { AgentBusOptions, DispatchOptions, AuditEntry } from './runtime/agent-bus.js';
export type { TaskContext, TaskHandler, TaskResult } from './runtime/worker.js';
export { textArtifact } from './runtime/worker.js';
export type { LiveAgent } from './runtime/registry.js';
export { MemoryIdempotencyStore, type IdempotencyStore } from './runtime/idempotency.js';
export { userText, agentText, textOfParts, stateName, wireState, type TaskStateName } from './runtime/a2a.js';
export { runtimeTopics, runtimeHeaders, type RuntimeTopics, type RuntimeRecordType } from './runtime/topics.js';
export {
  redriveHeaders,
  handledTopic,
  handledMarker,
  redrivenEnvelope,
  deadLetterPosition,
  readDeadLetters,
  redriveDeadLetter,
  type DeadLetterEntry,
  type RedriveOutcome,
} from './runtime/redrive.js';
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
