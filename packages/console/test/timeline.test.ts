import { randomUUID } from 'node:crypto';
import { buildTimeline } from '@a2a-bus/console';
import { AgentBus, NonRetryableError } from '@a2a-bus/core';
import { createMemoryTransport } from '@a2a-bus/memory';
import { describe, expect, it } from 'vitest';

const card = (name: string, ...skills: string[]) => ({ name, description: name, version: '1.0.0', skills: skills.map((id) => ({ id, name: id, tags: [] })) });

describe('workflow timeline', () => {
  it('a parent whose child fails every attempt: the child retried twice, failed, dead-lettered; the parent failed once', async () => {
    const transport = createMemoryTransport({ name: randomUUID() });
    const bus = new AgentBus({ transport, namespace: 'tl', retry: { maxAttempts: 3, initialDelayMs: 5 } });
    try {
      await bus.registerAgent(card('boss', 'orchestrate'), {
        orchestrate: async (ctx) => {
          // The parent gives up at once when its child fails: failed, not retried, not dead-lettered.
          await ctx.dispatch('extract', 'pdf').catch((error: Error) => {
            throw new NonRetryableError(`extract failed: ${error.message}`);
          });
        },
      });
      await bus.registerAgent(card('extractor', 'extract'), {
        extract: () => {
          throw new Error('corrupt pdf');
        },
      });
      const workflowId = `wf-${randomUUID().slice(0, 8)}`;
      await expect(bus.dispatch('orchestrate', 'go', { workflowId, timeoutMs: 10_000 })).rejects.toThrow();
      // The dead letter is written after the caller hears of the failure.
      let timeline = buildTimeline(workflowId, await bus.audit(workflowId));
      for (let i = 0; i < 50 && !timeline.tasks.some((t) => t.deadLettered); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        timeline = buildTimeline(workflowId, await bus.audit(workflowId));
      }
      expect(timeline.tasks.map((t) => [t.capability, t.depth, t.state])).toEqual([
        ['orchestrate', 0, 'failed'],
        ['extract', 1, 'dead-lettered'],
      ]);
      const extract = timeline.tasks[1]!;
      expect(extract.attempts.map((a) => a.outcome)).toEqual(['retried', 'retried', 'failed']);
      expect(extract.attempts[0]!.note).toBe('corrupt pdf');
      expect(extract.deadLetterMs).toBeGreaterThanOrEqual(extract.attempts[2]!.startMs);
      expect(extract.attempts.every((a, i) => i === 0 || a.startMs >= extract.attempts[i - 1]!.endMs!)).toBe(true);
    } finally {
      await bus.close();
      await transport.close();
    }
  });
});
