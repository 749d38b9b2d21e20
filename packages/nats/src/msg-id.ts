import { redriveHeaders, type Envelope } from '@a2a-bus/core';

/**
 * The Nats-Msg-Id JetStream deduplicates on: the envelope id, plus the redrive instant for
 * a redriven envelope, which keeps its id on purpose and would otherwise be dropped as a
 * repeat within the stream's duplicate window.
 */
export function natsMsgId(envelope: Envelope): string {
  const redrivenAt = envelope.headers?.[redriveHeaders.at];
  return redrivenAt ? `${envelope.id}@redrive:${redrivenAt}` : envelope.id;
}
