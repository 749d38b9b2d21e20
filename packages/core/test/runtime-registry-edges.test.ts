import { describe, expect, it } from 'vitest';
import { createEnvelope } from '../src/envelope.js';
import { AgentRegistry } from '../src/runtime/registry.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import type { Transport } from '../src/transport.js';
import { recordingLogger } from './support/recording-logger.js';

const announcement = (instanceId: string, type: string) =>
  createEnvelope({
    kind: 'agent-card',
    key: instanceId,
    payload: { name: 'echo', description: 'echo agent', version: '1.0.0', skills: [{ id: 'text.echo', name: 'text.echo', tags: [] }] },
    headers: { [runtimeHeaders.type]: type, [runtimeHeaders.instance]: instanceId },
  });

describe('AgentRegistry: a goodbye stands', () => {
  it('a heartbeat that raced the goodbye does not bring the agent back', () => {
    const registry = new AgentRegistry({ transport: {} as Transport, topic: 'ns.registry', instanceId: 'me', ttlMs: 60_000, logger: recordingLogger() });
    registry.observe(announcement('i1', 'agent-up'));
    registry.observe(announcement('i1', 'agent-down'));
    registry.observe(announcement('i1', 'agent-heartbeat'));
    expect(registry.live()).toEqual([]);
    expect(registry.serves('text.echo')).toBe(false);
  });
});
