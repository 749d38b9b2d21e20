import { randomUUID } from 'node:crypto';
import { requireBroker, skippedSuite } from '@a2a-bus/conformance';
import { startConsole, type RunningConsole, type Timeline } from '@a2a-bus/console';
import { AgentBus, NonRetryableError, type Transport } from '@a2a-bus/core';
import { createKafkaTransport } from '@a2a-bus/kafka';
import { createNatsTransport } from '@a2a-bus/nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNatsStreams } from '../../../test/src/servers/nats-streams.js';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const streamPrefix = `cons${randomUUID().slice(0, 6)}`;
const backends: Array<{ name: string; reachable: Promise<string | undefined>; create: () => Transport }> = [
  {
    name: 'nats',
    reachable: requireBroker('NATS', new URL(natsUrl).hostname, Number(new URL(natsUrl).port || 4222)),
    create: () => createNatsTransport({ url: natsUrl, partitions: 2, streamPrefix, ackWaitMs: 2_000, leaseTtlMs: 2_000 }),
  },
  {
    name: 'kafka',
    reachable: requireBroker('Kafka', brokers[0]!.split(':')[0]!, Number(brokers[0]!.split(':')[1])),
    create: () =>
      createKafkaTransport({ brokers, partitions: 2, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 15_000, maxWaitTimeMs: 100 }),
  },
];
const card = (name: string, ...skills: string[]) => ({ name, description: name, version: '1.0.0', skills: skills.map((id) => ({ id, name: id, tags: [] })) });

for (const backend of backends) {
  const skipReason = await backend.reachable;
  if (skipReason) {
    skippedSuite(`[${backend.name}] console over HTTP`, skipReason);
    continue;
  }
  describe(`[${backend.name}] console over HTTP: the same pages work on this backend`, () => {
    const namespace = `cons-${randomUUID().slice(0, 8)}`;
    const transports: Transport[] = [];
    const transport = (): Transport => {
      const t = backend.create();
      transports.push(t);
      return t;
    };
    let bus: AgentBus;
    let running: RunningConsole;
    let fixed = false;

    beforeAll(async () => {
      bus = new AgentBus({ transport: transport(), namespace, agentTtlMs: 3_000, retry: { maxAttempts: 2, initialDelayMs: 20 } });
      await bus.registerAgent(card('pipeline', 'fetch', 'parse'), {
        fetch: async (ctx) => {
          await ctx.dispatch('parse', 'the page').catch((error: Error) => {
            throw new NonRetryableError(`parse failed: ${error.message}`);
          });
          return 'fetched';
        },
        parse: () => {
          if (!fixed) throw new Error('bad markup');
          return 'parsed';
        },
      });
      running = await startConsole({ transport: transport(), namespace, agentTtlMs: 3_000, lagIntervalMs: 300 });
    }, 60_000);

    afterAll(async () => {
      await running?.close();
      await bus?.close();
      await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 500 })));
      // A fresh stream prefix per run: nothing of it stays on the shared server.
      if (backend.name === 'nats') await deleteNatsStreams(natsUrl, streamPrefix);
    });

    it('agents, a workflow timeline, lag, and a dead letter redriven through the API', async () => {
      const workflowId = `wf-${randomUUID().slice(0, 8)}`;
      await expect(bus.dispatch('fetch', 'https://example.org', { workflowId, timeoutMs: 30_000 })).rejects.toThrow();
      const get = async (path: string): Promise<unknown> => (await fetch(`${running.url}${path}`)).json();

      await expect
        .poll(async () => ((await get('/api/agents')) as Array<{ name: string; status: string }>).map((a) => `${a.name}:${a.status}`), { timeout: 15_000 })
        .toContain('pipeline:live');
      await expect.poll(async () => ((await get(`/api/workflows?q=${workflowId}`)) as unknown[]).length, { timeout: 15_000 }).toBe(1);
      const timeline = (await get(`/api/workflows/${workflowId}`)) as Timeline;
      expect(timeline.tasks.map((t) => t.capability)).toEqual(['fetch', 'parse']);
      expect(timeline.tasks[1]!.attempts.map((a) => a.outcome)).toEqual(['retried', 'failed']);
      const lag = (await get('/api/lag')) as { available: boolean; points: Array<{ series: Record<string, number> }> };
      expect(lag.available).toBe(true);
      await expect
        .poll(async () => Object.keys(((await get('/api/lag')) as typeof lag).points.at(-1)?.series ?? {}).some((s) => s.startsWith('agents.parse')), {
          timeout: 15_000,
          message: JSON.stringify(await get('/api/lag')).slice(0, 600),
        })
        .toBe(true);

      type Dead = { workflowId: string; position: string; capability: string; handled: boolean };
      let dead: Dead | undefined;
      await expect
        .poll(async () => (dead = ((await get('/api/dead-letters')) as Dead[]).find((d) => d.workflowId === workflowId)), { timeout: 15_000 })
        .toBeDefined();
      const post = (dryRun: boolean) =>
        fetch(`${running.url}/api/dead-letters/redrive`, {
          method: 'POST',
          headers: { 'x-a2a-console': '1', 'content-type': 'application/json' },
          body: JSON.stringify({ positions: [dead!.position], dryRun }),
        }).then((r) => r.json() as Promise<{ results: Array<{ outcome: string }> }>);
      expect((await post(true)).results.map((r) => r.outcome)).toEqual(['would redrive']);
      fixed = true;
      expect((await post(false)).results.map((r) => r.outcome)).toEqual(['redriven']);
      await expect
        .poll(async () => ((await get(`/api/workflows/${workflowId}`)) as Timeline).tasks.find((t) => t.capability === 'parse')?.state, { timeout: 20_000 })
        .toBe('completed');
      const after = (await get('/api/dead-letters')) as Dead[];
      expect(after.filter((d) => d.workflowId === workflowId).map((d) => d.handled)).toEqual([true]);
    });
  });
}
