import { runtimeHeaders, runtimeTopics, type DeadLetterEntry, type Transport } from '@a2a-bus/core';

export { readDeadLetters, type DeadLetterEntry } from '@a2a-bus/core';

/**
 * The dead-letter topics of a namespace's capabilities: every capability the audit trail
 * saw requested or the registry saw served, as `<namespace>.tasks.<capability>.dlq`.
 */
export async function deadLetterTopics(transport: Transport, namespace: string): Promise<string[]> {
  const topics = runtimeTopics(namespace);
  const capabilities = new Set<string>();
  for await (const record of transport.replay(topics.workflows)) {
    const capability = record.envelope?.headers?.[runtimeHeaders.capability];
    if (capability) capabilities.add(capability);
  }
  for await (const record of transport.replay(topics.registry)) {
    if (record.envelope?.kind === 'agent-card') for (const skill of record.envelope.payload.skills) capabilities.add(skill.id);
  }
  return [...capabilities].sort().map((capability) => `${topics.tasks(capability)}.dlq`);
}

/** `capability=…`, `key=…`, `id=…` (exact) and `error~=…` (case-insensitive substring of reason or error). */
export function parseFilter(spec: string): (entry: DeadLetterEntry) => boolean {
  const match = /^(capability|key|id|error)(=|~=)(.*)$/.exec(spec);
  if (!match) throw new Error(`--filter must be capability=…, key=…, id=… or error~=…; got "${spec}"`);
  const [, field, op, value] = match as unknown as [string, string, string, string];
  if (field === 'error') {
    if (op !== '~=') throw new Error('--filter error takes ~= (contains), e.g. error~=timeout');
    const needle = value.toLowerCase();
    return ({ envelope }) => `${envelope.payload.reason} ${envelope.payload.error.name} ${envelope.payload.error.message}`.toLowerCase().includes(needle);
  }
  const read = (entry: DeadLetterEntry): string | undefined =>
    field === 'capability' ? entry.envelope.headers?.[runtimeHeaders.capability] : field === 'key' ? entry.envelope.key : entry.envelope.id;
  return op === '=' ? (entry) => read(entry) === value : (entry) => (read(entry) ?? '').toLowerCase().includes(value.toLowerCase());
}

/** The row `dlq ls` and `dlq redrive` print for a dead letter. */
export function deadLetterRow(entry: DeadLetterEntry): Record<string, unknown> {
  const { envelope } = entry;
  return {
    id: envelope.id,
    key: envelope.key,
    capability: envelope.headers?.[runtimeHeaders.capability],
    attempts: envelope.payload.attempts,
    deadLetteredAt: envelope.payload.deadLetteredAt,
    reason: envelope.payload.reason,
    error: envelope.payload.error.message,
    handled: entry.handled,
    position: entry.position,
  };
}
