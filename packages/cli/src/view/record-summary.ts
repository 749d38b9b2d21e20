import { encodeEnvelope, runtimeHeaders, stateName, type Envelope, type ReplayRecord } from '@a2a-bus/core';

/** One log record as operators read it: where it is, what it is, and how big. */
export interface RecordSummary {
  readonly time: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly kind: string;
  readonly type: string | undefined;
  readonly taskId: string | undefined;
  readonly capability: string | undefined;
  readonly state: string | undefined;
  readonly attempt: number | undefined;
  readonly bytes: number | undefined;
  readonly id: string | undefined;
  /** Why the record could not be decoded. */
  readonly error?: string;
}

export function summarizeRecord(record: ReplayRecord): RecordSummary {
  const base = { time: new Date(record.timestamp).toISOString(), partition: record.partition, offset: record.offset, key: record.key };
  const { envelope } = record;
  if (!envelope) {
    const none = {
      kind: 'undecodable',
      type: undefined,
      taskId: undefined,
      capability: undefined,
      state: undefined,
      attempt: undefined,
      bytes: undefined,
      id: undefined,
    };
    return { ...base, ...none, error: record.error?.message ?? 'undecodable' };
  }
  return { ...base, ...describeEnvelope(envelope) };
}

/** The decoded fields of an envelope that say what it is. */
export function describeEnvelope(envelope: Envelope): Omit<RecordSummary, 'time' | 'partition' | 'offset' | 'key'> {
  const headers = envelope.headers ?? {};
  return {
    kind: envelope.kind,
    type: headers[runtimeHeaders.type],
    taskId: headers[runtimeHeaders.taskId] ?? taskIdOf(envelope),
    capability: headers[runtimeHeaders.capability],
    state: stateOf(envelope),
    attempt: envelope.attempt ?? (envelope.kind === 'dead-letter' ? envelope.payload.attempts : undefined),
    bytes: encodeEnvelope(envelope).byteLength,
    id: envelope.id,
  };
}

function taskIdOf(envelope: Envelope): string | undefined {
  if (envelope.kind === 'message') return envelope.payload.taskId;
  if (envelope.kind === 'task') return envelope.payload.id;
  return undefined;
}

/** The A2A task state an envelope reports, as a short name (`working`, `completed`, …). */
export function stateOf(envelope: Envelope): string | undefined {
  if (envelope.kind === 'task') return stateName(envelope.payload.status.state);
  if (envelope.kind === 'dead-letter') return 'dead-lettered';
  if (envelope.kind !== 'stream-response') return undefined;
  const event = envelope.payload;
  if ('task' in event) return stateName(event.task.status.state);
  if ('statusUpdate' in event) return stateName(event.statusUpdate.status.state);
  if ('artifactUpdate' in event) return 'artifact';
  return undefined;
}
