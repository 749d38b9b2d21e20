import type { EnvelopeInput } from '@a2a-bus/core';

/** The same bytes on both sides: an A2A v1.0 Message whose one text part is `bytes` long. */
export function a2aMessage(i: number, bytes = 1_024): { messageId: string; role: 'ROLE_USER'; parts: { text: string }[] } {
  return { messageId: `m-${i}`, role: 'ROLE_USER', parts: [{ text: textOf(bytes) }] };
}

const texts = new Map<number, string>();
function textOf(bytes: number): string {
  let text = texts.get(bytes);
  if (!text) texts.set(bytes, (text = 'x'.repeat(bytes)));
  return text;
}

/** What a user of a raw client sends: the A2A Message as JSON (parsed again on receipt). */
export function rawJson(i: number, bytes = 1_024): string {
  return JSON.stringify(a2aMessage(i, bytes));
}

/** What a user of a2a-bus publishes: the same Message, keyed by workflow. */
export function busMessage(i: number, keys = 64, bytes = 1_024, headers?: Record<string, string>): EnvelopeInput {
  return { kind: 'message', key: `wf-${i % keys}`, payload: a2aMessage(i, bytes), ...(headers ? { headers } : {}) } as EnvelopeInput;
}

/** "1 KiB", "256 B". */
export function sizeLabel(bytes: number): string {
  return bytes >= 1_024 ? `${bytes / 1_024} KiB` : `${bytes} B`;
}
