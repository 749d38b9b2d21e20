import {
  ReplyTopicRefusedError,
  runtimeHeaders,
  runtimeTopics,
  type A2AAgentCard,
  type AgentBus,
  type AgentBusOptions,
  type Logger,
  type Transport,
} from '@a2a-bus/core';
import { expect } from 'vitest';
import { delay, waitFor } from '../conformance/context.js';

/** What the agent suite hands its groups of cases. */
export interface AgentCaseEnv {
  readonly test: (title: string, fn: () => Promise<void>, timeoutMs?: number) => void;
  /** A fresh namespace per case. */
  readonly ns: () => string;
  readonly ms: (n: number) => number;
  /** A started bus on a transport of its own (a process), closed after the case. */
  readonly bus: (namespace: string, extra?: Partial<AgentBusOptions>) => Promise<AgentBus>;
  /** A bare transport (a process that is not a bus), closed after the case. */
  readonly transport: () => Promise<Transport>;
}

/** Logs kept in memory, to check what a component said. */
function capturingLogger(lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }>): Logger {
  const at = (level: string) => (fields: unknown, msg?: string) =>
    void lines.push({ level, msg: msg ?? '', fields: (fields ?? {}) as Record<string, unknown> });
  const logger: Logger = { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

function card(name: string, ...skills: string[]): A2AAgentCard {
  return { name, description: `${name} agent`, version: '1.0.0', skills: skills.map((id) => ({ id, name: id, tags: [] })) };
}

/** Hostile input to the runtime: replies only where they belong, liveness on the receiver's clock. */
export function runtimeHygieneCases(env: AgentCaseEnv): void {
  const { test, ns, ms } = env;

  test('a request naming a foreign reply topic is refused, logged and dead-lettered; nothing is written there', async () => {
    const space = ns();
    const topics = runtimeTopics(space);
    const logs: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const worker = await env.bus(space, { logger: capturingLogger(logs) });
    const ran: string[] = [];
    await worker.registerAgent(card('echo', 'text.echo'), {
      'text.echo': (ctx) => {
        ran.push(ctx.taskId);
        return 'ok';
      },
    });
    const sender = await env.transport();
    const foreign = [
      topics.workflows,
      topics.registry,
      runtimeTopics(`other-${space}`).replies,
      `${topics.replies}.bus-1`,
      `${topics.replies}.dlq`,
      topics.tasks('text.echo'),
    ];
    const legit = topics.replies;
    const request = (taskId: string, replyTo: string) => ({
      kind: 'message' as const,
      key: `wf-${taskId}`,
      replyTo,
      correlationId: taskId,
      payload: { messageId: `m-${taskId}`, role: 'ROLE_USER' as const, parts: [{ text: 'hi' }], taskId, contextId: `wf-${taskId}` },
      headers: { [runtimeHeaders.type]: 'task-request', [runtimeHeaders.capability]: 'text.echo', [runtimeHeaders.taskId]: taskId },
    });
    for (const [i, replyTo] of foreign.entries()) await sender.publish(topics.tasks('text.echo'), request(`foreign-${i}`, replyTo));
    await sender.publish(topics.tasks('text.echo'), request('legit', legit));

    const deadLetters = new Map<string, { reason: string; code: string | undefined }>();
    const finals: string[] = [];
    const deadline = Date.now() + ms(20_000);
    while ((deadLetters.size < foreign.length || finals.length < 1) && Date.now() < deadline) {
      deadLetters.clear();
      finals.length = 0;
      for await (const record of sender.replay(`${topics.tasks('text.echo')}.dlq`)) {
        if (record.envelope?.kind === 'dead-letter') {
          const { payload } = record.envelope;
          deadLetters.set(payload.original?.correlationId ?? '?', { reason: payload.reason, code: payload.error.code });
        }
      }
      for await (const record of sender.replay(legit))
        if (record.envelope?.kind === 'stream-response' && 'task' in record.envelope.payload) finals.push(record.envelope.payload.task.id);
      await delay(200);
    }
    expect(ran).toEqual(['legit']);
    expect(finals).toContain('legit');
    expect([...deadLetters.keys()].sort()).toEqual(foreign.map((_, i) => `foreign-${i}`).sort());
    for (const dead of deadLetters.values()) {
      expect(dead.code).toBe(ReplyTopicRefusedError.code);
      expect(dead.reason).toMatch(/reply topic refused/);
    }
    // Nothing about the refused tasks reached the topics they named (nor the audit trail).
    for (const topic of foreign.filter((t) => t !== topics.tasks('text.echo'))) {
      for await (const record of sender.replay(topic)) {
        const taskId = record.envelope?.headers?.[runtimeHeaders.taskId];
        expect(taskId?.startsWith('foreign-') ?? false, `an event of ${taskId} on ${topic}`).toBe(false);
      }
    }
    expect(logs.filter((l) => l.level === 'warn' && /refused/.test(l.msg))).toHaveLength(foreign.length);
  }, 60_000);

  test('registry liveness is on the receiver clock: a sender 60 s behind stays live, one 60 s ahead drops out after the TTL', async () => {
    const space = ns();
    const topics = runtimeTopics(space);
    const ttlMs = ms(3_000);
    const observer = await env.bus(space, { agentTtlMs: ttlMs });
    const sender = await env.transport();
    const announce = (instance: string, skewMs: number, type: string) =>
      sender.publish(topics.registry, {
        kind: 'agent-card',
        key: instance,
        createdAt: new Date(Date.now() + skewMs).toISOString(),
        payload: card(instance, `skill.${instance}`),
        headers: { [runtimeHeaders.type]: type, [runtimeHeaders.instance]: instance },
      });
    await announce('behind', -60_000, 'agent-up');
    await announce('ahead', 60_000, 'agent-up');
    await waitFor('both skewed agents live', () => observer.agents().length === 2, ms(10_000));
    // "behind" heartbeats every third of the TTL for more than a TTL; "ahead" has gone silent.
    const until = Date.now() + ttlMs + ms(1_500);
    while (Date.now() < until) {
      await announce('behind', -60_000, 'agent-heartbeat');
      await delay(Math.floor(ttlMs / 3));
    }
    expect(observer.agents().map((a) => a.instanceId)).toEqual(['behind']);
  }, 60_000);
}
