import { buildDeadLetter } from '../consumer/dead-letter.js';
import type { Logger } from '../logger.js';
import type { Delivery, Transport } from '../transport.js';

export interface RequestRefusal {
  readonly transport: Transport;
  /** The task topic the request came from; its dead letter goes to `<topic>.dlq`. */
  readonly topic: string;
  readonly group: string;
  readonly logger: Logger;
}

/**
 * Refuses a task request without running it: logs why, writes its dead letter (so `audit`
 * and the DLQ tools show it), then terms the delivery. When the dead letter cannot be
 * written the error propagates and the delivery is retried, so a refusal is never silent.
 */
export async function refuseRequest(refusal: RequestRefusal, delivery: Delivery, reason: string, error: unknown): Promise<void> {
  const { envelope } = delivery;
  refusal.logger.warn({ err: error, id: envelope.id, topic: refusal.topic, reason }, 'task request refused; dead-lettered');
  const deadLetter = buildDeadLetter({
    sourceTopic: refusal.topic,
    group: refusal.group,
    reason,
    error,
    attempts: delivery.attempt,
    original: envelope,
    key: envelope.key,
    partition: delivery.partition,
    offset: delivery.offset,
  });
  await refusal.transport.publish(`${refusal.topic}.dlq`, deadLetter);
  delivery.term(reason);
}
