import { randomUUID } from 'node:crypto';
import type { Envelope, Subscription, Transport } from '@a2a-bus/core';
import { anomalySubject, type Anomaly } from './anomaly.js';

/** `<namespace>.anomalies`: every detector writes here, so every process, the CLI and the console see it. */
export function anomaliesTopic(namespace: string): string {
  return `${namespace}.anomalies`;
}

/** Writes one anomaly as an agent message: a text part for people, a data part for programs. */
export async function publishAnomaly(transport: Transport, namespace: string, anomaly: Anomaly): Promise<void> {
  await transport.publish(anomaliesTopic(namespace), {
    kind: 'message',
    id: anomaly.id,
    key: anomalySubject(anomaly),
    payload: { messageId: randomUUID(), role: 'ROLE_AGENT', parts: [{ text: anomaly.message }, { data: anomaly }] },
    headers: { 'a2a-bus.type': 'anomaly', 'a2a-bus.anomaly-kind': anomaly.kind },
  });
}

/** The anomaly an envelope of the anomalies topic carries, if it is one. */
export function anomalyOf(envelope: Envelope | undefined): Anomaly | undefined {
  if (envelope?.kind !== 'message' || envelope.headers?.['a2a-bus.type'] !== 'anomaly') return undefined;
  const data = envelope.payload.parts.find((part) => part.data !== undefined)?.data as Anomaly | undefined;
  return data && typeof data.kind === 'string' ? data : undefined;
}

/** Anomalies recorded so far (optionally since a time), oldest first. */
export async function readAnomalies(transport: Transport, namespace: string, options: { since?: number; limit?: number } = {}): Promise<Anomaly[]> {
  const from =
    options.since !== undefined && transport.capabilities.replayFromTimestamp.support !== 'none' ? { timestamp: options.since } : { beginning: true as const };
  const anomalies: Anomaly[] = [];
  for await (const record of transport.replay(anomaliesTopic(namespace), { from })) {
    const anomaly = anomalyOf(record.envelope);
    if (anomaly && (options.since === undefined || Date.parse(anomaly.at) >= options.since)) anomalies.push(anomaly);
  }
  anomalies.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return options.limit ? anomalies.slice(-options.limit) : anomalies;
}

/** Calls `listener` for each new anomaly as it is written (a throw-away group starting at the end). */
export function followAnomalies(transport: Transport, namespace: string, listener: (anomaly: Anomaly) => void): Promise<Subscription> {
  return transport.subscribe(
    anomaliesTopic(namespace),
    (delivery) => {
      const anomaly = anomalyOf(delivery.envelope);
      if (anomaly) listener(anomaly);
    },
    { group: `anomalies-follow-${randomUUID().slice(0, 8)}`, startFrom: 'latest', deadLetterTopic: false, ephemeral: true },
  );
}
