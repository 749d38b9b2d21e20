import { randomUUID } from 'node:crypto';
import { newId } from '../ids.js';
import { isoTimeCache } from '../iso-time.js';
import { z } from 'zod';
import type { A2AAgentCard, A2AMessage, A2AStreamResponse, A2ATask } from '../a2a/schema.js';
import { NoAgentError } from '../errors/no-agent-error.js';
import { TaskError } from '../errors/task-error.js';
import { TransportClosedError } from '../errors/transport-closed-error.js';
import { createEnvelope, type Envelope, type EnvelopeInput } from '../envelope.js';
import { reportError, type BusErrorEvent } from '../instrumentation.js';
import { silentLogger, type Logger } from '../logger.js';
import { parseOptions } from '../options.js';
import { defaultRetryPolicy, type Subscription, type Transport } from '../transport.js';
import { userText } from './a2a.js';
import { PendingTasks, type PendingTask } from './caller.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from './idempotency.js';
import { AgentRegistry, type LiveAgent } from './registry.js';
import { markInterrupted, mergeByTime } from './audit-trail.js';
import { ReplyProbe } from './reply-probe.js';
import { refuseRequest } from './request-refusal.js';
import { INSTANCE_ID_PATTERN, runtimeHeaders, runtimeTopics, type RuntimeRecordType } from './topics.js';
import { CapabilityWorker, type EventMarks, type TaskHandler, type TaskRequest } from './worker.js';
import { trustOptionsSchema } from '../trust/policy.js';
import { withTrust } from '../trust/runtime-trust.js';
import { verifyEnvelope } from '../trust/signature.js';

const agentBusOptionsSchema = z.object({
  transport: z.custom<Transport>((value) => typeof value === 'object' && value !== null && 'subscribe' in value, 'a Transport'),
  /** Topic prefix; buses that share one share agents. */
  namespace: z
    .string()
    .regex(/^[\w.-]+$/)
    .default('a2a'),
  /** This process's id on the bus (replies come to it). Unique per running instance. */
  instanceId: z.string().regex(INSTANCE_ID_PATTERN, 'letters, digits, _ : - (at most 200)').optional(),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null, 'a logger').optional(),
  /** An agent silent for this long drops out of the registry; heartbeats go every third of it. */
  agentTtlMs: z.int().min(100).default(15_000),
  /** Default dispatch timeout. */
  timeoutMs: z.int().min(1).default(60_000),
  /** Task requests a worker holds at once per capability. */
  maxInFlight: z.int().min(1).default(64),
  retry: z
    .object({
      maxAttempts: z.int().min(1),
      initialDelayMs: z.int().min(0),
      maxDelayMs: z.int().min(0),
      jitter: z.number().min(0).max(1),
      maxDeliveries: z.int().min(1),
    })
    .partial()
    .default({}),
  idempotencyStore: z.custom<IdempotencyStore>((value) => typeof value === 'object' && value !== null, 'an IdempotencyStore').optional(),
  /** Also write every task event to the workflows topic, for `audit()`. */
  audit: z.boolean().default(true),
  /** Failures to know about (failed heartbeats, agents dropping out); they are logged at warn either way. */
  onError: z.custom<(event: BusErrorEvent) => void>((value) => typeof value === 'function', 'a function (event) => void').optional(),
  /** Signed envelopes and a trust policy (see `TrustOptions`); off by default. */
  trust: trustOptionsSchema.optional(),
});

export type AgentBusOptions = z.input<typeof agentBusOptionsSchema>;

export interface DispatchOptions {
  /** Workflow id: the partition key of every step, and the A2A contextId. Default: a new one. */
  readonly workflowId?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** No live agent serves the capability: fail at once (default) or enqueue and wait for one. */
  readonly whenNoAgent?: 'fail' | 'enqueue';
  /** Task id; a retried dispatch with the same id is answered once. Default: a new one. */
  readonly taskId?: string;
  /**
   * Application headers for the request envelope (service parameters, caller identity);
   * the handler reads them as `ctx.headers`. Names under `a2a-bus.` are the runtime's own.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A submitted task's timestamp and its request's deadline (one string per millisecond each). */
const submittedIso = isoTimeCache();
const deadlineIso = isoTimeCache();
const noMarks: EventMarks = Object.freeze({});

/** One recorded step of a workflow, as `audit()` returns it. */
export interface AuditEntry {
  readonly type: RuntimeRecordType | 'dead-letter';
  readonly at: string;
  readonly taskId: string | undefined;
  readonly capability: string | undefined;
  /** On the event that starts an attempt: which delivery of the request it is. */
  readonly attempt?: number;
  /** Set on an answer a worker gave from its idempotency store, without running the task again. */
  readonly servedFrom?: 'idempotency-store';
  /** Set on the start of an attempt that never ended: its process died or lost the task before it finished. */
  readonly interrupted?: true;
  readonly envelope: Envelope;
  /** Public key that signed the step (base64url Ed25519), if it was signed. */
  readonly signer: string | undefined;
  /** Whether the signature verifies against the step's content. */
  readonly verified: boolean;
}

/**
 * The agent runtime over any transport. Agents register an A2A AgentCard and handle the
 * capabilities (skill ids) it lists; callers dispatch work by capability and get the
 * completed A2A Task back, or stream its events. Every step is keyed by its workflow id, so
 * a workflow's steps stay in order on every backend, and everything is written to the log:
 * retried, dead-lettered and replayable with `audit()`.
 */
export class AgentBus {
  readonly instanceId: string;
  /** This instance's public key when trust is on (announced with its agents, on every envelope it signs). */
  readonly publicKey: string | undefined;
  private readonly transport: Transport;
  private readonly options: z.output<typeof agentBusOptionsSchema>;
  private readonly topics: ReturnType<typeof runtimeTopics>;
  private readonly logger: Logger;
  private readonly store: IdempotencyStore;
  private readonly pending = new PendingTasks();
  private readonly registry: AgentRegistry;
  private readonly replyProbe: ReplyProbe;
  private readonly workers = new Map<string, CapabilityWorker>();
  /** Replies and control. */
  private readonly subscriptions: Subscription[] = [];
  /** One per served capability. */
  private readonly workerSubscriptions: Subscription[] = [];
  private readonly announcements: Array<{ card: A2AAgentCard; instanceId: string }> = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  /** `started` has settled successfully: a dispatch need not await it. */
  private isStarted = false;
  private closing: Promise<void> | undefined;

  constructor(options: AgentBusOptions) {
    this.options = parseOptions('runtime', agentBusOptionsSchema, options);
    this.instanceId = this.options.instanceId ?? `bus-${randomUUID().slice(0, 12)}`;
    this.topics = runtimeTopics(this.options.namespace);
    this.logger = (this.options.logger ?? silentLogger).child({ component: 'agent-bus', instance: this.instanceId });
    const trusted = withTrust(this.options.transport, this.options.trust, this.options.namespace, this.logger);
    this.transport = trusted.transport;
    this.publicKey = trusted.keys?.publicKey;
    this.store = this.options.idempotencyStore ?? new MemoryIdempotencyStore();
    this.replyProbe = new ReplyProbe(this.transport, this.topics.replies, this.instanceId);
    this.registry = new AgentRegistry({
      transport: this.transport,
      topic: this.topics.registry,
      instanceId: this.instanceId,
      ttlMs: this.options.agentTtlMs,
      logger: this.logger,
    });
  }

  /** Connects, rebuilds the registry from the log, and starts listening for replies and cancels. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.transport.connect();
      // Per-process cursors are ephemeral: closing (or dying) leaves no group behind. The
      // three are set up side by side: start-up costs one group join, not three in a row.
      const results = await Promise.allSettled([
        this.registry.start(),
        this.transport.subscribe(this.topics.replies, (d) => this.onReply(d.envelope), {
          group: `replies-${this.instanceId}`,
          startFrom: 'latest',
          ephemeral: true,
          deadLetterTopic: false,
        }),
        this.transport.subscribe(this.topics.control, (d) => this.onControl(d.envelope), {
          group: `control-${this.instanceId}`,
          startFrom: 'latest',
          ephemeral: true,
          deadLetterTopic: false,
        }),
      ]);
      // What did start is closed with the bus even when another part failed.
      for (const result of results.slice(1)) if (result.status === 'fulfilled' && result.value) this.subscriptions.push(result.value);
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      this.assertOpen();
      // 'latest' may be fixed only once the backend placed the cursor: a reply sent before
      // would be missed. A probe that comes back proves the cursor is in place.
      await this.replyProbe.await(this.options.timeoutMs);
      this.assertOpen();
      this.heartbeat = setInterval(
        () => {
          void this.announceAll('agent-heartbeat');
          this.reportDropouts();
        },
        Math.max(50, Math.floor(this.options.agentTtlMs / 3)),
      );
      this.isStarted = true;
    })();
    return this.started;
  }

  /**
   * Registers an agent: announces its card and serves `handlers` (skill id → handler).
   * Every skill of the card needs a handler. Start more processes with the same card to
   * share the work.
   */
  async registerAgent(card: A2AAgentCard, handlers: Record<string, TaskHandler>): Promise<void> {
    await this.start();
    this.assertOpen();
    const missing = card.skills.map((s) => s.id).filter((id) => !handlers[id]);
    if (missing.length) throw new TaskError('-', 'rejected', `agent ${card.name} has no handler for ${missing.join(', ')}`);
    for (const [capability, handler] of Object.entries(handlers)) await this.serve(capability, handler);
    const announcement = { card, instanceId: `${this.instanceId}/${card.name}` };
    this.announcements.push(announcement);
    await this.announce(announcement, 'agent-up');
  }

  /** Live agents, as the registry sees them now. */
  agents(): LiveAgent[] {
    return this.registry.live();
  }

  /** Dispatches `message` to an agent serving `capability` and resolves with the completed task. */
  async dispatch(capability: string, message: A2AMessage | string, options: DispatchOptions = {}): Promise<A2ATask> {
    const pending = await this.submit(capability, message, options, false);
    return pending.result;
  }

  /** Like `dispatch`, yielding each A2A StreamResponse (submitted task, status and artifact updates, final task). */
  async *dispatchStream(capability: string, message: A2AMessage | string, options: DispatchOptions = {}): AsyncGenerator<A2AStreamResponse> {
    const pending = await this.submit(capability, message, options, true);
    yield* pending.events();
  }

  /** Asks whichever worker holds the task to cancel it; its handler's signal aborts and the task ends canceled. */
  async cancel(taskId: string, workflowId = taskId): Promise<void> {
    await this.transport.publish(this.topics.control, {
      kind: 'message',
      key: workflowId,
      payload: userText(`cancel ${taskId}`),
      headers: { [runtimeHeaders.type]: 'cancel', [runtimeHeaders.taskId]: taskId },
    });
  }

  /**
   * Everything recorded for one workflow, in order: requests, status and artifact events,
   * results, and the dead letters of its requests.
   */
  async audit(workflowId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const capabilities = new Set<string>();
    const seen = new Set<string>();
    for await (const record of this.transport.replay(this.topics.workflows, { key: workflowId })) {
      // A publish retried across a broker restart can land twice: same envelope id, one entry.
      if (!record.envelope || seen.has(record.envelope.id)) continue;
      seen.add(record.envelope.id);
      const entry = auditEntry(record.envelope);
      if (entry.capability) capabilities.add(entry.capability);
      entries.push(entry);
    }
    const deadLetters: AuditEntry[] = [];
    for (const capability of capabilities) {
      for await (const record of this.transport.replay(`${this.topics.tasks(capability)}.dlq`, { key: workflowId })) {
        if (record.envelope) deadLetters.push({ ...auditEntry(record.envelope), type: 'dead-letter', capability });
      }
    }
    // The workflow log is causally ordered (every write of a step waits for the one before
    // it): keep its order, and slot each dead letter in after the last entry not later than it.
    return markInterrupted(mergeByTime(entries, deadLetters));
  }

  /** Says goodbye to the registry, drains workers and subscriptions, fails open dispatches. Does not close the transport. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.started?.catch(() => {});
      clearInterval(this.heartbeat);
      await Promise.allSettled(this.announcements.map((a) => this.announce(a, 'agent-down')));
      // Workers drain first, while replies still arrive: a handler waiting on a child task can finish.
      await Promise.allSettled(this.workerSubscriptions.map((s) => s.close()));
      await Promise.allSettled([...this.subscriptions.map((s) => s.close()), this.registry.stop()]);
      this.pending.failAll(new TaskError('-', 'canceled', 'the agent bus closed'));
    })();
    return this.closing;
  }

  private async serve(capability: string, handler: TaskHandler): Promise<void> {
    if (this.workers.has(capability)) throw new TaskError('-', 'rejected', `capability ${capability} is already served by this bus`);
    const retry = { ...defaultRetryPolicy, ...this.options.retry };
    const worker = new CapabilityWorker({
      capability,
      handler,
      retry,
      store: this.store,
      logger: this.logger.child({ capability }),
      emit: (request, event, marks) => this.emit(capability, request, event, marks),
      recordsProgress: (request) => this.options.audit || !request.finalOnly,
      namespace: this.options.namespace,
      allowsReplyTo: (replyTo) => this.topics.isReplyTopic(replyTo),
      refuse: (delivery, reason, error) =>
        refuseRequest(
          { transport: this.transport, topic: this.topics.tasks(capability), group: `agents.${capability}`, logger: this.logger },
          delivery,
          reason,
          error,
        ),
      dispatchChild: (parent, child, message, timeoutMs) => {
        parent.children += 1;
        return this.dispatch(child, message, {
          workflowId: parent.workflowId,
          taskId: `${parent.taskId}/${parent.children}`,
          ...(timeoutMs ? { timeoutMs } : {}),
        });
      },
    });
    this.workers.set(capability, worker);
    this.assertOpen();
    this.workerSubscriptions.push(
      await this.transport.subscribe(this.topics.tasks(capability), worker.onDelivery, {
        group: `agents.${capability}`,
        maxInFlight: this.options.maxInFlight,
        retry,
        onDeadLetter: worker.onDeadLetter,
      }),
    );
  }

  /** Sends a task request; `stream`: the caller reads every event, not only the final task. */
  private async submit(capability: string, message: A2AMessage | string, options: DispatchOptions, stream: boolean): Promise<PendingTask> {
    if (!this.isStarted) await this.start();
    this.assertOpen();
    if (options.signal?.aborted) throw new TaskError(options.taskId ?? '-', 'canceled', 'canceled by the caller before dispatch');
    if (!this.registry.serves(capability)) {
      if (options.whenNoAgent !== 'enqueue') throw new NoAgentError(capability);
    }
    const workflowId = options.workflowId ?? newId();
    const taskId = options.taskId ?? newId();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const base = typeof message === 'string' ? userText(message) : message;
    const request: A2AMessage = { ...base, taskId, contextId: workflowId };
    const known = this.pending.get(taskId);
    if (known) {
      // The same task dispatched again while it runs: one answer for both (a stream joining sees the events from now on).
      if (stream) known.keepEvents();
      return known;
    }
    const pending = this.pending.add(taskId, stream);
    const { signal } = options;
    if (signal) {
      const onAbort = (): void => {
        pending.fail(new TaskError(taskId, 'canceled', 'canceled by the caller'));
        void this.cancel(taskId, workflowId).catch((error: unknown) => this.logger.warn({ err: error, taskId }, 'cancel failed'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      pending.whenEnded(() => signal.removeEventListener('abort', onAbort));
    }
    if (stream) {
      pending.accept({
        task: { id: taskId, contextId: workflowId, status: { state: 'TASK_STATE_SUBMITTED', timestamp: submittedIso(Date.now()) }, history: [request] },
      });
    }

    const envelope: EnvelopeInput = {
      kind: 'message',
      key: workflowId,
      payload: request,
      correlationId: taskId,
      replyTo: this.topics.replies,
      deadline: deadlineIso(Date.now() + timeoutMs),
      sender: this.instanceId,
      headers: {
        ...options.headers,
        [runtimeHeaders.type]: 'task-request',
        [runtimeHeaders.capability]: capability,
        [runtimeHeaders.taskId]: taskId,
      },
    };
    // A caller that waits for the result only is sent the final task only: in a round trip
    // that saves the `working` event the worker would otherwise publish before running it.
    if (!stream) envelope.headers![runtimeHeaders.replies] = 'final';
    try {
      // The audit record goes first, so the trail never shows a step's events before its request.
      if (this.options.audit) await this.recordAudit(envelope);
      await this.transport.publish(this.topics.tasks(capability), envelope);
    } catch (error) {
      pending.fail(error); // the request was not sent: no timer, no stray cancel
      throw error;
    }
    pending.startTimer(timeoutMs, () => void this.cancel(taskId, workflowId).catch(() => {}));
    return pending;
  }

  /**
   * A task event goes to the caller that asked, and to the workflow's audit trail. Not an
   * async function: without an audit trail it is one publish, and a worker emits two or
   * three events per task.
   */
  private emit(capability: string, request: TaskRequest, event: A2AStreamResponse, marks: EventMarks = noMarks): Promise<unknown> {
    // The worker refused foreign reply topics before running anything; this is the last guard.
    // A caller that reads only the final task gets no other event (the worker's only `task` events are final).
    const toCaller = request.replyTo !== undefined && this.topics.isReplyTopic(request.replyTo) && (!request.finalOnly || 'task' in event);
    const replyTo = toCaller ? request.replyTo : undefined;
    if (!replyTo && !this.options.audit) return Promise.resolve();
    const envelope: EnvelopeInput = {
      kind: 'stream-response',
      key: request.workflowId,
      correlationId: request.taskId,
      payload: event,
      sender: this.instanceId,
      headers: eventHeaders(capability, request.taskId, marks),
    };
    if (!this.options.audit) {
      try {
        return replyTo ? this.transport.publish(replyTo, envelope) : Promise.resolve();
      } catch (error) {
        return Promise.reject(error); // a transport that throws instead of rejecting
      }
    }
    // Audit before reply: the caller acts on the reply (a parent completes), so what caused
    // it must already be in the trail.
    const audited = this.recordAudit(envelope);
    return replyTo ? audited.then(() => this.transport.publish(replyTo, envelope)) : audited;
  }

  private async recordAudit(envelope: EnvelopeInput): Promise<void> {
    await this.transport.publish(this.topics.workflows, { ...envelope, id: randomUUID() });
  }

  private assertOpen(): void {
    if (this.closing) throw new TransportClosedError('runtime', 'use the agent bus');
  }

  private onReply(envelope: Envelope): void {
    if (!this.replyProbe.observe(envelope)) this.pending.route(envelope);
  }

  private onControl(envelope: Envelope): void {
    if (envelope.headers?.[runtimeHeaders.type] !== 'cancel') return;
    const taskId = envelope.headers[runtimeHeaders.taskId];
    if (taskId) for (const worker of this.workers.values()) worker.cancel(taskId);
  }

  /** Agents that stopped heartbeating without a goodbye: each reported once (warn + onError). */
  private reportDropouts(): void {
    for (const agent of this.registry.dropouts()) {
      this.reportError({
        kind: 'agent-lost',
        transport: 'runtime',
        topic: this.topics.registry,
        member: agent.instanceId,
        message: `agent ${agent.card.name} (${agent.instanceId}) dropped out of the registry: no heartbeat for ${this.options.agentTtlMs} ms`,
      });
    }
  }

  private reportError(event: BusErrorEvent): void {
    reportError({ onError: (e) => this.callOnError(e) }, this.logger, 'warn', event);
  }

  private callOnError(event: BusErrorEvent): void {
    try {
      this.options.onError?.(event);
    } catch (error) {
      this.logger.warn({ err: error }, 'onError hook threw; ignored');
    }
  }

  private async announceAll(type: RuntimeRecordType): Promise<void> {
    await Promise.all(this.announcements.map((a) => this.announce(a, type))).catch((error: unknown) => {
      this.reportError({
        kind: 'heartbeat-failed',
        transport: 'runtime',
        message: 'agent heartbeat failed; other buses may drop these agents',
        error,
        topic: this.topics.registry,
      });
    });
  }

  /** Tasks of the agent's skills running in this bus now. */
  private inFlight(card: A2AAgentCard): number {
    return card.skills.reduce((sum, skill) => sum + (this.workers.get(skill.id)?.inFlight ?? 0), 0);
  }

  private async announce(announcement: { card: A2AAgentCard; instanceId: string }, type: RuntimeRecordType): Promise<void> {
    const envelope = createEnvelope({
      kind: 'agent-card',
      key: announcement.instanceId,
      payload: announcement.card,
      headers: {
        [runtimeHeaders.type]: type,
        [runtimeHeaders.instance]: announcement.instanceId,
        [runtimeHeaders.inFlight]: String(this.inFlight(announcement.card)),
      },
    });
    this.registry.sending(envelope);
    await this.transport.publish(this.topics.registry, envelope);
    // This bus knows its own agents at once; others learn them from the log.
    this.registry.observe(envelope);
  }
}

/** A task event's headers (built in place: spreading optional parts made three objects per event). */
function eventHeaders(capability: string, taskId: string, marks: EventMarks): Record<string, string> {
  const headers: Record<string, string> = {
    [runtimeHeaders.type]: 'task-event',
    [runtimeHeaders.capability]: capability,
    [runtimeHeaders.taskId]: taskId,
  };
  if (marks.attempt !== undefined) headers[runtimeHeaders.attempt] = String(marks.attempt);
  if (marks.attemptEnd) headers[runtimeHeaders.attemptEnd] = marks.attemptEnd;
  if (marks.servedFromStore) headers[runtimeHeaders.servedFrom] = 'idempotency-store';
  return headers;
}

function auditEntry(envelope: Envelope): AuditEntry {
  const headers = envelope.headers ?? {};
  const attempt = headers[runtimeHeaders.attempt];
  const { signer, verified } = verifyEnvelope(envelope);
  return {
    signer,
    verified,
    type: (headers[runtimeHeaders.type] as AuditEntry['type'] | undefined) ?? 'task-event',
    at: envelope.createdAt,
    taskId: headers[runtimeHeaders.taskId],
    capability: headers[runtimeHeaders.capability],
    ...(attempt !== undefined ? { attempt: Number(attempt) } : {}),
    ...(headers[runtimeHeaders.servedFrom] === 'idempotency-store' ? { servedFrom: 'idempotency-store' as const } : {}),
    envelope,
  };
}

/** Creates an agent runtime on `options.transport`; call `start()` (or just use it: it starts itself). */
export function createAgentBus(options: AgentBusOptions): AgentBus {
  return new AgentBus(options);
}
