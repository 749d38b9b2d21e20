import { runtimeHeaders, runtimeTopics, type DeadLetterEntry } from '@a2a-bus/core';

// Listing and redrive are core's (`readDeadLetters`, `redriveDeadLetter`): the CLI does the same.
export { readDeadLetters, redriveDeadLetter, type DeadLetterEntry, type RedriveOutcome } from '@a2a-bus/core';

/** The dead-letter topics of the capabilities given: `<namespace>.tasks.<capability>.dlq`. */
export function deadLetterTopicsOf(namespace: string, capabilities: Iterable<string>): string[] {
  return [...new Set(capabilities)].sort().map((capability) => `${runtimeTopics(namespace).tasks(capability)}.dlq`);
}

/** The fields the page and the API show for a dead letter. */
export function deadLetterSummary(entry: DeadLetterEntry): Record<string, unknown> {
  const { envelope } = entry;
  return {
    id: envelope.id,
    workflowId: envelope.key,
    capability: envelope.headers?.[runtimeHeaders.capability],
    taskId: envelope.headers?.[runtimeHeaders.taskId],
    attempts: envelope.payload.attempts,
    deadLetteredAt: envelope.payload.deadLetteredAt,
    reason: envelope.payload.reason,
    error: envelope.payload.error.message,
    handled: entry.handled,
    position: entry.position,
  };
}
