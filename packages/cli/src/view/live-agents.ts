import { runtimeHeaders, runtimeTopics, type Transport } from '@a2a-bus/core';

/** An agent instance as its announcements on the registry topic describe it. */
export interface AgentView {
  readonly name: string;
  readonly instance: string;
  readonly capabilities: string[];
  readonly lastHeartbeat: string;
  readonly ageMs: number;
  readonly inFlight: number | undefined;
  readonly status: 'live' | 'down' | 'silent';
}

/**
 * The registry's view, rebuilt read-only from the log: the newest announcement per
 * instance within the last `ttlMs` twice over. `live` if heard within `ttlMs`, `silent`
 * if not (it stopped heartbeating: dead or stuck), `down` if it said goodbye.
 */
export async function readAgents(transport: Transport, namespace: string, ttlMs: number, now = Date.now()): Promise<AgentView[]> {
  const newest = new Map<string, AgentView>();
  for await (const record of transport.replay(runtimeTopics(namespace).registry, { from: { timestamp: now - 2 * ttlMs } })) {
    const envelope = record.envelope;
    if (envelope?.kind !== 'agent-card') continue;
    const headers = envelope.headers ?? {};
    const instance = headers[runtimeHeaders.instance] ?? envelope.key;
    const seen = Date.parse(envelope.createdAt);
    const known = newest.get(instance);
    if (known && Date.parse(known.lastHeartbeat) >= seen) continue;
    const inFlight = Number(headers[runtimeHeaders.inFlight] ?? Number.NaN);
    newest.set(instance, {
      name: envelope.payload.name,
      instance,
      capabilities: envelope.payload.skills.map((skill) => skill.id),
      lastHeartbeat: envelope.createdAt,
      ageMs: Math.max(0, now - seen),
      inFlight: Number.isInteger(inFlight) ? inFlight : undefined,
      status: headers[runtimeHeaders.type] === 'agent-down' ? 'down' : now - seen <= ttlMs ? 'live' : 'silent',
    });
  }
  return [...newest.values()].sort((a, b) => a.name.localeCompare(b.name) || a.instance.localeCompare(b.instance));
}
