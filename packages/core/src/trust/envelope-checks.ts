import type { Envelope } from '../envelope.js';
import { UntrustedEnvelopeError } from '../errors/untrusted-envelope-error.js';
import { runtimeHeaders } from '../runtime/topics.js';
import type { TrustPolicy } from './policy.js';
import { verifyEnvelope } from './signature.js';

/** What a runtime topic is for, as far as trust goes. */
export type TopicRole =
  | { readonly role: 'tasks'; readonly capability: string }
  | { readonly role: 'replies' }
  | { readonly role: 'registry' }
  | { readonly role: 'control' };

/** The role of one of the namespace's runtime topics; undefined for anything else (dead letters, the workflow log, foreign topics). */
export function topicRole(namespace: string, topic: string): TopicRole | undefined {
  if (topic.endsWith('.dlq')) return undefined;
  if (topic === `${namespace}.registry`) return { role: 'registry' };
  if (topic === `${namespace}.control`) return { role: 'control' };
  if (topic === `${namespace}.replies` || topic.startsWith(`${namespace}.replies.`)) return { role: 'replies' };
  if (topic.startsWith(`${namespace}.tasks.`)) return { role: 'tasks', capability: topic.slice(namespace.length + 7) };
  return undefined;
}

/**
 * The first check `envelope` fails on a topic of `role`, or undefined when it passes:
 * signature (present and matching the content) → known signer → the role's rule
 * (dispatch to the capability / serve the capability the result is for / serve every skill
 * announced). Freshness (replays) is checked separately, on live deliveries only.
 */
export function checkEnvelope(
  envelope: Envelope,
  role: TopicRole,
  policy: TrustPolicy,
  /** The capability this bus dispatched a task to, by task id (replies are checked against it, not against their own headers). */
  capabilityOfTask: (taskId: string) => string | undefined = () => undefined,
  /** The key an agent instance first announced itself with: no other key may speak for it (e.g. say it is down). */
  ownerOfInstance: (instanceId: string) => string | undefined = () => undefined,
): UntrustedEnvelopeError | undefined {
  const status = verifyEnvelope(envelope);
  if (!status.verified) return new UntrustedEnvelopeError('signature', `envelope ${envelope.id}: ${status.reason}`);
  const signer = status.signer!;
  if (!policy.knows(signer))
    return new UntrustedEnvelopeError('unknown-signer', `envelope ${envelope.id} is signed by ${signer}, a key the policy does not name`);
  switch (role.role) {
    case 'tasks':
      // Whatever its headers say: a worker runs anything on its task topic that names a task.
      if (!policy.mayDispatch(signer, role.capability)) {
        return new UntrustedEnvelopeError('dispatch', `${signer} may not dispatch to ${role.capability} (request ${envelope.id})`);
      }
      // The topic is not signed, the capability header is: a request copied to another task topic is refused.
      if (envelope.headers?.[runtimeHeaders.capability] !== role.capability) {
        return new UntrustedEnvelopeError(
          'dispatch',
          `request ${envelope.id} was signed for ${envelope.headers?.[runtimeHeaders.capability] ?? '(no capability)'}, not ${role.capability}`,
        );
      }
      return undefined;
    case 'replies': {
      // Whatever its headers say: anything on a reply topic reaches the caller's pending task
      // by correlation id, so it must come from a key that may serve what the task went to.
      const taskId = envelope.correlationId ?? envelope.headers?.[runtimeHeaders.taskId];
      const capability = (taskId ? capabilityOfTask(taskId) : undefined) ?? envelope.headers?.[runtimeHeaders.capability];
      if (!capability || !policy.mayServe(signer, capability)) {
        return new UntrustedEnvelopeError('result', `${signer} may not answer for ${capability ?? '(no capability)'} (task ${taskId ?? '?'})`);
      }
      return undefined;
    }
    case 'registry': {
      if (envelope.kind !== 'agent-card') return undefined;
      const instance = envelope.headers?.[runtimeHeaders.instance] ?? envelope.key;
      const owner = ownerOfInstance(instance);
      if (owner !== undefined && owner !== signer) {
        return new UntrustedEnvelopeError('serve', `agent instance ${instance} announced by ${signer}, but it is ${owner}'s`);
      }
      const refused = envelope.payload.skills.map((skill) => skill.id).filter((capability) => !policy.mayServe(signer, capability));
      if (refused.length > 0) return new UntrustedEnvelopeError('serve', `${signer} may not serve ${refused.join(', ')} (agent ${envelope.payload.name})`);
      return undefined;
    }
    case 'control':
      return undefined;
  }
}

/**
 * Refuses envelopes created before the replay window, and ids already handled within it
 * (a copy re-published after the transport's own dedup window has passed).
 */
export class ReplayGuard {
  private readonly handled = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly capacity: number;

  constructor(maxAgeMs: number, capacity: number) {
    this.maxAgeMs = maxAgeMs;
    this.capacity = capacity;
  }

  check(envelope: Envelope, now = Date.now()): UntrustedEnvelopeError | undefined {
    const created = Date.parse(envelope.createdAt);
    if (created < now - this.maxAgeMs) {
      return new UntrustedEnvelopeError(
        'replay',
        `envelope ${envelope.id} was created at ${envelope.createdAt}, before the replay window of ${this.maxAgeMs} ms`,
      );
    }
    if (this.handled.has(envelope.id)) return new UntrustedEnvelopeError('replay', `envelope ${envelope.id} was already handled here`);
    return undefined;
  }

  /** Called once a delivery was handled; ids older than the window are forgotten (they fail the age check anyway). */
  remember(envelope: Envelope, now = Date.now()): void {
    if (this.capacity === 0) return;
    this.handled.set(envelope.id, Date.parse(envelope.createdAt));
    if (this.handled.size <= this.capacity) return;
    const cutoff = now - this.maxAgeMs;
    for (const [id, created] of this.handled) {
      if (created < cutoff || this.handled.size > this.capacity) this.handled.delete(id);
      else break;
    }
  }
}
