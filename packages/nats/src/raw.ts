/**
 * The NATS client libraries this adapter is built on, re-exported so benchmarks can run
 * the raw client side by side with a2a-bus with the very same versions.
 */
export { connect } from '@nats-io/transport-node';
export type { NatsConnection } from '@nats-io/transport-node';
export { AckPolicy, DeliverPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
export type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
