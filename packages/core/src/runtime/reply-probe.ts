import { randomUUID } from 'node:crypto';
import type { Envelope } from '../envelope.js';
import { ReplyPathTimeoutError } from '../errors/reply-path-timeout-error.js';
import type { Transport } from '../transport.js';
import { userText } from './a2a.js';
import { runtimeHeaders } from './topics.js';

/**
 * Proves that a bus's reply subscription reads from where it started: a subscription from
 * `latest` may only fix its cursor once the backend assigned it partitions, and a reply sent
 * before that would be lost. The probe is published to the reply topic until it comes back
 * (other buses ignore it: it is no task event).
 */
export class ReplyProbe {
  private readonly id = `probe-${randomUUID()}`;
  private arrived = false;
  private wake: (() => void) | undefined;
  private readonly transport: Transport;
  private readonly topic: string;
  private readonly instanceId: string;

  constructor(transport: Transport, topic: string, instanceId: string) {
    this.transport = transport;
    this.topic = topic;
    this.instanceId = instanceId;
  }

  /** Takes a reply-topic envelope; true when it was a probe (of this bus or another). */
  observe(envelope: Envelope): boolean {
    if (envelope.headers?.[runtimeHeaders.type] !== 'reply-probe') return false;
    if (envelope.correlationId === this.id) {
      this.arrived = true;
      this.wake?.();
    }
    return true;
  }

  /** Publishes the probe (again every 250 ms) until it arrives; fails after `timeoutMs`. */
  async await(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.arrived) {
      if (Date.now() > deadline) throw new ReplyPathTimeoutError(this.topic, timeoutMs);
      await this.transport.publish(this.topic, {
        kind: 'message',
        key: this.instanceId,
        correlationId: this.id,
        payload: userText('reply probe'),
        headers: { [runtimeHeaders.type]: 'reply-probe', [runtimeHeaders.instance]: this.instanceId },
      });
      if (this.arrived) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.wake = undefined;
  }
}
