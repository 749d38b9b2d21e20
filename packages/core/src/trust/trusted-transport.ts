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
import { BatchSigner } from './batch-signer.js';
import { trustHeaders } from './signature.js';

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
  private readonly signer: BatchSigner;
  /** Capability of each task this bus dispatched (bounded): replies are checked against it. */
  private readonly dispatched = new Map<string, string>();
  /** Set once `dispatched` forgot a task: from then on a reply for an unknown task may be ours. */
  private forgotDispatches = false;
  /** The key each agent instance first announced itself with (bounded). */
  private readonly instanceKeys = new Map<string, string>();

  constructor(inner: Transport, options: TrustedTransportOptions) {
    this.inner = inner;
    this.options = options;
    this.backend = inner.backend;
    this.capabilities = inner.capabilities;
    this.replays = new ReplayGuard(options.maxAgeMs, options.rememberIds);
    this.signer = new BatchSigner(options.keys);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  /**
   * Signed with what else is published in this turn (see `BatchSigner`), then published.
   * Publishes of one turn reach the inner transport in call order, so per-key order holds.
   */
  async publish(topic: string, input: EnvelopeInput): Promise<PublishReceipt> {
    this.assertMayPublish(topic, input);
    this.noteDispatch(topic, input);
    return this.inner.publish(topic, await this.signer.sign(input));
  }

  async publishBatch(topic: string, inputs: readonly EnvelopeInput[]): Promise<PublishReceipt[]> {
    for (const input of inputs) {
      this.assertMayPublish(topic, input);
      this.noteDispatch(topic, input);
    }
    const signed = await Promise.all(inputs.map((input) => this.signer.sign(input)));
    return this.inner.publishBatch(topic, signed);
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
    const { mode, logger } = this.options;
    const check = (envelope: Envelope): UntrustedEnvelopeError | undefined => this.check(envelope, role);
    return (async function* () {
      for await (const record of records) {
        const failure = record.envelope ? check(record.envelope) : undefined;
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
    if (isReplyProbe(role, envelope) || this.isOthersReply(role, envelope)) return handler(delivery);
    const failure = this.check(envelope, role) ?? this.replays.check(envelope);
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
   * A reply on the namespace's shared reply topic for a task another bus dispatched: the
   * runtime routes replies to its own pending tasks only, so it drops this one unread. It is
   * that bus's to check (and dead-letter); checking it here too would only cost. Once this bus
   * forgot a dispatch (more than 100,000 in flight), every reply is checked again.
   */
  private isOthersReply(role: TopicRole, envelope: Envelope): boolean {
    if (role.role !== 'replies' || envelope.kind !== 'stream-response' || this.forgotDispatches) return false;
    const taskId = envelope.correlationId;
    return taskId !== undefined && !this.dispatched.has(taskId);
  }

  /** The policy checks, with what this bus knows: the tasks it dispatched, the keys of agent instances. */
  private check(envelope: Envelope, role: TopicRole): UntrustedEnvelopeError | undefined {
    const failure = checkEnvelope(
      envelope,
      role,
      this.options.policy,
      (taskId) => this.dispatched.get(taskId),
      (instanceId) => this.instanceKeys.get(instanceId),
    );
    if (!failure && role.role === 'registry' && envelope.kind === 'agent-card') {
      const instance = envelope.headers?.[runtimeHeaders.instance] ?? envelope.key;
      const signer = envelope.headers?.[trustHeaders.signer];
      if (signer && !this.instanceKeys.has(instance)) {
        this.instanceKeys.set(instance, signer);
        if (this.instanceKeys.size > 100_000) this.instanceKeys.delete(this.instanceKeys.keys().next().value!);
      }
    }
    return failure;
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
    await this.inner.publish(`${delivery.topic}.dlq`, await this.signer.sign(letter));
  }

  private noteDispatch(topic: string, input: EnvelopeInput): void {
    const role = topicRole(this.options.namespace, topic);
    const taskId = input.headers?.[runtimeHeaders.taskId];
    if (role?.role !== 'tasks' || input.headers?.[runtimeHeaders.type] !== 'task-request' || !taskId) return;
    this.dispatched.delete(taskId);
    this.dispatched.set(taskId, role.capability);
    if (this.dispatched.size > 100_000) {
      this.dispatched.delete(this.dispatched.keys().next().value!);
      this.forgotDispatches = true;
    }
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

/**
 * A bus proves its reply subscription live with a probe it sends to the namespace's shared
 * reply topic, which every bus reads. A probe is a `message`, never routed to a pending task
 * (only `stream-response`s are), so it passes unchecked: a bus whose key the policy does not
 * know may still start and read, and other buses do not dead-letter each other's probes.
 */
function isReplyProbe(role: TopicRole, envelope: Envelope): boolean {
  return role.role === 'replies' && envelope.kind === 'message' && envelope.headers?.[runtimeHeaders.type] === 'reply-probe';
}
