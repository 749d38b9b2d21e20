import { describe, expect, it } from 'vitest';
import type { A2AStreamResponse } from '../src/a2a/schema.js';
import type { Envelope } from '../src/envelope.js';
import type { AuditEntry } from '../src/runtime/agent-bus.js';
import { markInterrupted, mergeByTime } from '../src/runtime/audit-trail.js';
import { PendingTask } from '../src/runtime/caller.js';

const at = (second: number): string => new Date(Date.UTC(2030, 0, 1, 0, 0, second)).toISOString();

function entry(id: string, when: string, extra: Partial<AuditEntry> = {}, headers: Record<string, string> | null = {}): AuditEntry {
  const envelope = {
    id,
    kind: 'stream-response',
    key: 'wf',
    createdAt: when,
    payload: { statusUpdate: { taskId: 't', contextId: 'wf', status: { state: 'TASK_STATE_WORKING' } } },
    ...(headers ? { headers } : {}),
  } as unknown as Envelope;
  return { type: 'task-event', at: when, taskId: undefined, capability: undefined, envelope, signer: undefined, verified: false, ...extra };
}

describe('PendingTask: a reader already waiting', () => {
  it('is woken by a failure that comes without an event, and gets the error', async () => {
    const pending = new PendingTask('t');
    const seen: A2AStreamResponse[] = [];
    let outcome: unknown = 'still waiting';
    const reading = (async () => {
      for await (const event of pending.events()) seen.push(event);
    })().then(
      () => (outcome = 'ended'),
      (error: unknown) => (outcome = error),
    );
    await Promise.resolve();
    const failure = new Error('timed out');
    pending.fail(failure);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).toBe(failure);
    await reading;
    expect(seen).toEqual([]);
  });
});

describe('mergeByTime: every dead letter before the end of the log', () => {
  it('places them and then the rest of the log', () => {
    const log = [entry('l1', at(1)), entry('l5', at(5)), entry('l9', at(9))];
    const dead = [entry('d0', at(0)), entry('d2', at(2))];
    expect(mergeByTime(log, dead).map((e) => e.envelope.id)).toEqual(['d0', 'l1', 'd2', 'l5', 'l9']);
  });
});

describe('markInterrupted: records without headers', () => {
  it('a task event without headers neither ends nor breaks the attempt', () => {
    const entries = [
      entry('a1', at(1), { taskId: 'a', attempt: 1 }),
      entry('bare', at(2), { taskId: 'a' }, null),
      entry('a2', at(3), { taskId: 'a', attempt: 2 }),
    ];
    expect(markInterrupted(entries).map((e) => e.interrupted ?? false)).toEqual([true, false, false]);
  });
});
