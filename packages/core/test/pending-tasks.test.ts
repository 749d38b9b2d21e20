import { describe, expect, it, vi } from 'vitest';
import { createEnvelope, TaskTimeoutError } from '../src/index.js';
import { PendingTasks } from '../src/runtime/caller.js';

const finalTask = (id: string) => ({
  task: { kind: 'task' as const, id, contextId: 'wf', status: { state: 'TASK_STATE_COMPLETED' as const }, artifacts: [], history: [] },
});

describe('PendingTasks: the dispatches of one bus stay bounded by those in flight', () => {
  it('forgets a dispatch once it completed, failed or timed out; late replies for it are dropped', async () => {
    vi.useFakeTimers();
    try {
      const pending = new PendingTasks();
      const results: Promise<unknown>[] = [];
      for (let i = 0; i < 3_000; i += 1) {
        const task = pending.add(`t${i}`);
        results.push(task.result.catch((error: unknown) => error));
        if (i % 3 === 0) task.startTimer(1_000, () => {});
      }
      for (let i = 1; i < 3_000; i += 3)
        pending.route(createEnvelope({ kind: 'stream-response', key: 'wf', correlationId: `t${i}`, payload: finalTask(`t${i}`) }));
      for (let i = 2; i < 3_000; i += 3) pending.get(`t${i}`)!.fail(new Error('the bus closed'));
      await vi.advanceTimersByTimeAsync(1_000);
      const settled = await Promise.all(results);
      expect(settled.filter((r) => TaskTimeoutError.isInstance(r))).toHaveLength(1_000);
      expect(settled.filter((r) => (r as { status?: unknown }).status !== undefined)).toHaveLength(1_000);
      expect(settled.filter((r) => (r as Error).message === 'the bus closed')).toHaveLength(1_000);
      for (let i = 0; i < 3_000; i += 1) expect(pending.get(`t${i}`), `t${i}`).toBeUndefined();
      // A reply arriving after its dispatch ended finds nothing and creates nothing.
      pending.route(createEnvelope({ kind: 'stream-response', key: 'wf', correlationId: 't0', payload: finalTask('t0') }));
      expect(pending.get('t0')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
