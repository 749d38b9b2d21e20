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
}

type Events = Required<Instrumentation>;

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
  };
}
