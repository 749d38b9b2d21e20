import { buildDeadLetter } from '../consumer/dead-letter.js';
import type { Envelope, EnvelopeInput } from '../envelope.js';
import { UntrustedEnvelopeError } from '../errors/untrusted-envelope-error.js';
import type { Logger } from '../logger.js';
import { runtimeHeaders } from '../runtime/topics.js';
import type {
  CloseOptions,
  Delivery,
  MessageHandler,
  PublishReceipt,
  RawRecord,
  ReplayOptions,
  ReplayRecord,
  SubscribeOptions,
  Subscription,
  Transport,
} from '../transport.js';
import { checkEnvelope, ReplayGuard, topicRole, type TopicRole } from './envelope-checks.js';
import type { AgentKeys } from './keys.js';
import type { TrustPolicy } from './policy.js';
import { signEnvelope, verifyEnvelope } from './signature.js';

export interface TrustedTransportOptions {
  readonly namespace: string;
  readonly mode: 'warn' | 'enforce';
  readonly keys: AgentKeys;
  readonly policy: TrustPolicy;
  readonly maxAgeMs: number;
  readonly rememberIds: number;
  readonly logger: Logger;
}

/**
 * The agent runtime's view of its transport with trust on: every envelope it publishes is
 * signed with the instance's key; every delivery on the namespace's runtime topics (task
 * requests, replies, the registry, control) is verified against the policy before its
 * handler sees it. Under `enforce` a failing envelope is dead-lettered to `<topic>.dlq`
 * with an `UntrustedEnvelopeError` naming the check, and settled: no handler, no caller.
 * Under `warn` it is logged and delivered. The wrapped transport is not changed.
 */
export class TrustedTransport implements Transport {
  readonly backend: string;
  readonly capabilities: Transport['capabilities'];
  private readonly inner: Transport;
  private readonly options: TrustedTransportOptions;
  private readonly replays: ReplayGuard;

  constructor(inner: Transport, options: TrustedTransportOptions) {
    this.inner = inner;
    this.options = options;
    this.backend = inner.backend;
    this.capabilities = inner.capabilities;
    this.replays = new ReplayGuard(options.maxAgeMs, options.rememberIds);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  publish(topic: string, input: EnvelopeInput): Promise<PublishReceipt> {
    try {
      this.assertMayPublish(topic, input);
      return this.inner.publish(topic, signEnvelope(input, this.options.keys));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  publishBatch(topic: string, inputs: readonly EnvelopeInput[]): Promise<PublishReceipt[]> {
    try {
      for (const input of inputs) this.assertMayPublish(topic, input);
      return this.inner.publishBatch(topic, inputs.map((input) => signEnvelope(input, this.options.keys)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Raw bytes cannot be signed: they go out as they are (and fail verification on a guarded topic). */
  publishRaw(topic: string, record: RawRecord): Promise<void> {
    return this.inner.publishRaw(topic, record);
  }

  async subscribe(topic: string, handler: MessageHandler, options: SubscribeOptions): Promise<Subscription> {
    const role = topicRole(this.options.namespace, topic);
    if (!role) return this.inner.subscribe(topic, handler, options);
    // A worker of a capability this instance may not serve would only have its results refused.
    if (role.role === 'tasks' && options.group === `agents.${role.capability}` && this.options.mode === 'enforce') {
      if (!this.options.policy.mayServe(this.options.keys.publicKey, role.capability)) {
        throw new UntrustedEnvelopeError('serve', `this instance's key ${this.options.keys.publicKey} may not serve ${role.capability}`);
      }
    }
    return this.inner.subscribe(topic, (delivery) => this.guarded(role, options.group, delivery, handler), options);
  }

  /**
   * Records as stored. On the registry topic (read on start to learn the live agents),
   * records failing the checks are left out under `enforce`: a forged announcement in the
   * log must not register an agent either. Other topics (the workflow log, dead letters)
   * come back as they are; `audit()` reports each record's signer and signature.
   */
  replay(topic: string, options?: ReplayOptions): AsyncIterable<ReplayRecord> {
    const records = this.inner.replay(topic, options);
    const role = topicRole(this.options.namespace, topic);
    if (role?.role !== 'registry') return records;
    const { policy, mode, logger } = this.options;
    return (async function* () {
      for await (const record of records) {
        const failure = record.envelope ? checkEnvelope(record.envelope, role, policy) : undefined;
        if (failure) {
          logger.warn({ topic, id: record.envelope?.id, check: failure.check, reason: failure.message }, 'untrusted registry record');
          if (mode === 'enforce') continue;
        }
        yield record;
      }
    })();
  }

  close(options?: CloseOptions): Promise<void> {
    return this.inner.close(options);
  }

  private async guarded(role: TopicRole, group: string, delivery: Delivery, handler: MessageHandler): Promise<void> {
    const { envelope } = delivery;
    if (this.isOwnReplyProbe(role, envelope)) return handler(delivery);
    const failure = checkEnvelope(envelope, role, this.options.policy) ?? this.replays.check(envelope);
    if (failure) {
      this.options.logger.warn({ topic: delivery.topic, id: envelope.id, check: failure.check, reason: failure.message }, 'untrusted envelope');
      if (this.options.mode === 'enforce') {
        // Written before the delivery settles: if the dead letter cannot be written, the
        // delivery is retried rather than lost from the record.
        await this.deadLetter(group, delivery, failure);
        delivery.term(failure.message);
        return;
      }
    }
    await handler(delivery);
    this.replays.remember(envelope);
  }

  /**
   * A bus proves its reply subscription live with a probe it sends itself; its own signed
   * probe passes even when the policy does not know its key (such a bus may still read).
   */
  private isOwnReplyProbe(role: TopicRole, envelope: Envelope): boolean {
    if (role.role !== 'replies' || envelope.headers?.[runtimeHeaders.type] !== 'reply-probe') return false;
    const status = verifyEnvelope(envelope);
    return status.verified && status.signer === this.options.keys.publicKey;
  }

  private async deadLetter(group: string, delivery: Delivery, failure: UntrustedEnvelopeError): Promise<void> {
    const letter = buildDeadLetter({
      sourceTopic: delivery.topic,
      group,
      reason: failure.message,
      error: failure,
      attempts: delivery.attempt,
      original: delivery.envelope as Envelope,
      key: delivery.envelope.key,
      partition: delivery.partition,
      offset: delivery.offset,
    });
    await this.inner.publish(`${delivery.topic}.dlq`, signEnvelope(letter, this.options.keys));
  }

  /** Under `enforce`, this instance's own key must be allowed to do what it publishes. */
  private assertMayPublish(topic: string, input: EnvelopeInput): void {
    if (this.options.mode !== 'enforce') return;
    const role = topicRole(this.options.namespace, topic);
    const { policy, keys } = this.options;
    if (role?.role === 'tasks' && input.headers?.[runtimeHeaders.type] === 'task-request' && !policy.mayDispatch(keys.publicKey, role.capability)) {
      throw new UntrustedEnvelopeError('dispatch', `this instance's key ${keys.publicKey} may not dispatch to ${role.capability}`);
    }
    if (role?.role === 'registry' && input.kind === 'agent-card') {
      const refused = input.payload.skills.map((skill) => skill.id).filter((capability) => !policy.mayServe(keys.publicKey, capability));
      if (refused.length > 0) throw new UntrustedEnvelopeError('serve', `this instance's key ${keys.publicKey} may not serve ${refused.join(', ')}`);
    }
  }
}
