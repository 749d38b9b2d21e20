import { randomUUID } from 'node:crypto';
import { TaskError, textOfParts, type A2AStreamResponse } from '@a2a-bus/core';
import { TaskState, type Task } from '@a2a-js/sdk';
import { expect, it } from 'vitest';
import { sendRequest, textOf } from './fixtures.js';
import type { InteropWorld } from './setup.js';

export function executorCases(world: () => InteropWorld, multiplier: number): void {
  const test = (name: string, fn: () => Promise<void>): void => {
    it(name, fn, 60_000 * multiplier);
  };

  test('a bus dispatch runs the SDK executor; its events become bus events in order', async () => {
    const events: A2AStreamResponse[] = [];
    for await (const event of world().caller.dispatchStream('words.upper', 'hello bus world')) events.push(event);
    const kinds = events.map((e) =>
      'task' in e
        ? `task:${e.task.status.state}`
        : 'statusUpdate' in e
          ? `status:${e.statusUpdate.status.message ? textOfParts(e.statusUpdate.status.message.parts) : ''}`
          : 'artifactUpdate' in e
            ? `artifact:${e.artifactUpdate.artifact.artifactId}`
            : 'message',
    );
    expect(kinds).toEqual([
      'task:TASK_STATE_SUBMITTED',
      'status:',
      'status:reading 3 words',
      'artifact:word-1',
      'artifact:word-2',
      'artifact:word-3',
      'task:TASK_STATE_COMPLETED',
    ]);
    const final = events.at(-1) as {
      task: { artifacts: Array<{ parts: Array<{ text?: string }> }>; status: { message?: { parts: Array<{ text?: string }> } } };
    };
    expect(final.task.artifacts.map((a) => a.parts[0]!.text)).toEqual(['HELLO', 'BUS', 'WORLD']);
    expect(final.task.status.message?.parts[0]?.text).toBe('done');
  });

  test('a task the executor fails ends failed with its reason, and is not retried', async () => {
    const workflowId = randomUUID();
    const error = await world()
      .caller.dispatch('words.upper', 'fail', { workflowId })
      .catch((e: unknown) => e);
    expect(TaskError.isInstance(error) && error.state).toBe('failed');
    expect((error as Error).message).toContain('asked to fail');
    const audit = await world().caller.audit(workflowId);
    expect(audit.filter((e) => e.type === 'task-request')).toHaveLength(1);
    expect(audit.some((e) => JSON.stringify(e.envelope.payload).includes('retrying'))).toBe(false);
  });

  test('a bus cancel reaches the executor through cancelTask', async () => {
    const taskId = randomUUID();
    const run = world().caller.dispatch('words.upper', 'slow', { taskId });
    const settled = run.catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, world().ms(300)));
    await world().caller.cancel(taskId);
    const error = await settled;
    expect(TaskError.isInstance(error) && error.state).toBe('canceled');
  });

  test('an SDK client over the bus binding reaches the SDK executor: SDK on both ends, the bus between', async () => {
    const client = await world().busClient('words.upper');
    const task = (await client.sendMessage(sendRequest('sdk to sdk'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts.map((a) => textOf(a.parts))).toEqual(['SDK', 'TO', 'SDK']);
  });

  test('an SDK client over HTTP reaches the SDK executor through the gateway and the bus', async () => {
    const client = await world().httpClient(1);
    const task = (await client.sendMessage(sendRequest('over http and the bus', { skill: 'words.upper' }))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(task.artifacts.map((a) => textOf(a.parts))).toEqual(['OVER', 'HTTP', 'AND', 'THE', 'BUS']);
  });
}
