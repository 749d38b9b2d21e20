import type { Logger } from './logger.js';

/** What every event carries: where it happened. */
export interface MessageEventBase {
  readonly transport: string;
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly id: string;
}

export interface PublishEvent extends MessageEventBase {
  readonly bytes: number;
  readonly durationMs: number;
}

export interface DeliveryEvent extends MessageEventBase {
  readonly group: string;
  readonly attempt: number;
  /** Time from the envelope's createdAt to the handler starting. */
  readonly lagMs: number;
}

export interface SettleEvent extends DeliveryEvent {
  /** Time the handler took. */
  readonly handlerMs: number;
}

export interface NackEvent extends SettleEvent {
  readonly delayMs: number;
  readonly error?: unknown;
}

export interface DeadLetterEvent extends MessageEventBase {
  readonly group: string;
  readonly attempts: number;
  readonly reason: string;
  readonly deadLetterTopic: string;
  /** False when the dead-letter topic could not be written: the dead letter is in the log only. */
  readonly written?: false;
}

/**
 * Failures a user must know about; none of them loses an acknowledged message, but each
 * means work is repeated, delayed or no longer watched:
 * - `settle-failed`: an ack / commit / XACK could not be written; the message comes again.
 * - `lease-lost`: a partition lease lapsed or was fenced off; its running work may run elsewhere.
 * - `heartbeat-failed`: a keep-alive (working(), lease renewal, group or agent heartbeat) failed.
 * - `dead-letter-failed`: a dead letter could not be written (retried, or written in minimal form).
 * - `agent-lost`: an agent stopped heartbeating and dropped out of the registry.
 * - `subscription-closed`: a watchdog or crash closed a subscription (e.g. a handler past its ack timeout).
 * - `consumer-failed`: a consume loop failed; what it held is left for redelivery.
 * - `retention-failed`: a retention round failed; old records stay until a round succeeds.
 */
export type BusErrorKind =
  | 'settle-failed'
  | 'lease-lost'
  | 'heartbeat-failed'
  | 'dead-letter-failed'
  | 'agent-lost'
  | 'subscription-closed'
  | 'consumer-failed'
  | 'retention-failed';

export interface BusErrorEvent {
  readonly kind: BusErrorKind;
  /** Backend (`kafka`, …) or `runtime` for the agent bus. */
  readonly transport: string;
  /** What happened, in words (also the log line's message). */
  readonly message: string;
  readonly error?: unknown;
  readonly topic?: string;
  readonly group?: string;
  readonly partition?: number;
  /** Group member, or agent instance for `agent-lost`. */
  readonly member?: string;
}

/**
 * The one place metrics, tracing and anomaly detection plug in. Every transport reports
 * through it, so none needs changing for them. Every method is optional; a method that
 * throws is logged and ignored, never breaking delivery.
 */
export interface Instrumentation {
  onPublish?(event: PublishEvent): void;
  onDeliver?(event: DeliveryEvent): void;
  onAck?(event: SettleEvent): void;
  onNack?(event: NackEvent): void;
  onTerm?(event: SettleEvent): void;
  /** A message handed to a handler again (after nack, crash, rebalance or timeout). */
  onRedeliver?(event: DeliveryEvent): void;
  onDeadLetter?(event: DeadLetterEvent): void;
  /** A failure the user must know about (see `BusErrorKind`); it is also logged at warn or error. */
  onError?(event: BusErrorEvent): void;
}

export type Events = Required<Instrumentation>;

const silentHooks = new WeakSet<object>();

/** True for the placeholder `safeInstrumentation` puts where no hook was given. */
export function isSilentHook(hook: unknown): boolean {
  return typeof hook === 'function' && silentHooks.has(hook);
}

/** Wraps instrumentation so a faulty hook can never break delivery. */
export function safeInstrumentation(instrumentation: Instrumentation | undefined, logger: Logger): Events {
  const call = <K extends keyof Events>(name: K): ((event: Parameters<Events[K]>[0]) => void) => {
    if (!instrumentation?.[name]) {
      const silent = (): void => {};
      silentHooks.add(silent);
      return silent;
    }
    return (event: Parameters<Events[K]>[0]): void => {
      const hook = instrumentation?.[name] as ((e: typeof event) => void) | undefined;
      if (!hook) return;
      try {
        hook.call(instrumentation, event);
      } catch (error) {
        logger.warn({ err: error, hook: name }, 'instrumentation hook threw; ignored');
      }
    };
  };
  return {
    onPublish: call('onPublish'),
    onDeliver: call('onDeliver'),
    onAck: call('onAck'),
    onNack: call('onNack'),
    onTerm: call('onTerm'),
    onRedeliver: call('onRedeliver'),
    onDeadLetter: call('onDeadLetter'),
    onError: call('onError'),
  };
}

/** Logs a failure at `level` (fields and `err`, `kind` included) and reports it to `onError`. */
export function reportError(events: Pick<Events, 'onError'>, logger: Logger, level: 'warn' | 'error', event: BusErrorEvent): void {
  const { message, error, ...fields } = event;
  logger[level]({ ...fields, ...(error !== undefined ? { err: error } : {}) }, message);
  events.onError(event);
}
