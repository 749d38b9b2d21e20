import { randomUUID } from 'node:crypto';
import { TaskError, textOfParts, type AgentBus } from '@a2a-bus/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { registerRemoteAgent } from '../../src/index.js';
import { startSdkServer, WordsExecutor } from './fixtures.js';
import { waitFor } from './helpers.js';
import type { InteropWorld } from './setup.js';

export function remoteCases(world: () => InteropWorld, multiplier: number): void {
  let remoteBus: AgentBus;
  const remoteExecutor = new WordsExecutor(20);
  const servers: Array<{ close(): Promise<void> }> = [];
  let goneServer: { url: string; close(): Promise<void> };
  const test = (name: string, fn: () => Promise<void>): void => {
    it(name, fn, 60_000 * multiplier);
  };

  beforeAll(async () => {
    const w = world();
    remoteBus = await w.bus({ retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 } });
    const remote = await startSdkServer(remoteExecutor, 'remote');
    servers.push(remote);
    goneServer = await startSdkServer(new WordsExecutor(), 'gone');
    servers.push(goneServer);
    const card = await registerRemoteAgent(remoteBus, remote.url, { timeoutMs: w.ms(1_500) });
    expect(card.skills.map((s) => s.id)).toEqual(['remote.upper']);
    await registerRemoteAgent(remoteBus, goneServer.url, { timeoutMs: w.ms(1_500) });
    await goneServer.close(); // registered while up, then gone
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.close()));
  });

  test('a bus dispatch reaches the SDK HTTP server and is in the audit trail', async () => {
    const workflowId = randomUUID();
    const task = await world().caller.dispatch('remote.upper', 'over http', { workflowId });
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect((task.artifacts ?? []).map((a) => textOfParts(a.parts))).toEqual(['OVER', 'HTTP']);
    expect(task.status.message && textOfParts(task.status.message.parts)).toBe('done');
    const audit = await world().caller.audit(workflowId);
    expect(audit.map((e) => e.type)).toContain('task-request');
    expect(audit.at(-1)!.type).toBe('task-event');
  });

  test('the remote streams: its artifacts reach bus subscribers as they come, in order', async () => {
    const events: string[] = [];
    for await (const event of world().caller.dispatchStream('remote.upper', 'one two three')) {
      if ('artifactUpdate' in event) events.push(`artifact:${textOfParts(event.artifactUpdate.artifact.parts)}`);
      if ('statusUpdate' in event && event.statusUpdate.status.message) events.push(`status:${textOfParts(event.statusUpdate.status.message.parts)}`);
      if ('task' in event) events.push(`task:${event.task.status.state}`);
    }
    expect(events).toEqual([
      'task:TASK_STATE_SUBMITTED',
      'status:reading 3 words',
      'artifact:ONE',
      'artifact:TWO',
      'artifact:THREE',
      'task:TASK_STATE_COMPLETED',
    ]);
  });

  test('a bus cancel cancels the remote task too', async () => {
    const taskId = randomUUID();
    const canceledBefore = remoteExecutor.canceled.size;
    const settled = world()
      .caller.dispatch('remote.upper', 'slow', { taskId })
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, world().ms(400)));
    await world().caller.cancel(taskId);
    const error = await settled;
    expect(TaskError.isInstance(error) && error.state).toBe('canceled');
    await waitFor('the remote executor to be asked to cancel', () => remoteExecutor.canceled.size === canceledBefore + 1, world().ms(5_000));
  });

  test('a remote agent that fails the task fails the bus task, without retrying', async () => {
    const error = await world()
      .caller.dispatch('remote.upper', 'fail')
      .catch((e: unknown) => e);
    expect(TaskError.isInstance(error) && error.state).toBe('failed');
    expect((error as Error).message).toContain('asked to fail');
    expect((error as Error).message).not.toContain('attempts');
  });

  test('a remote agent that does not answer in time fails each attempt, then the task', async () => {
    const workflowId = randomUUID();
    const error = await world()
      .caller.dispatch('remote.upper', 'slow', { workflowId })
      .catch((e: unknown) => e);
    expect(TaskError.isInstance(error) && error.state).toBe('failed');
    expect((error as Error).message).toMatch(/failed after 2 attempts: .*did not answer within \d+ ms/);
    // The caller learns of the failure first; the transport dead-letters the request right after.
    await waitFor('the dead letter', async () => (await world().caller.audit(workflowId)).some((e) => e.type === 'dead-letter'), world().ms(10_000));
  });

  test('a remote agent that is down fails each attempt, then the task, which is dead-lettered', async () => {
    const workflowId = randomUUID();
    const error = await world()
      .caller.dispatch('gone.upper', 'anyone there', { workflowId })
      .catch((e: unknown) => e);
    expect(TaskError.isInstance(error) && error.state).toBe('failed');
    expect((error as Error).message).toMatch(/failed after 2 attempts: .*remote agent gone failed/);
    await waitFor('the dead letter', async () => (await world().caller.audit(workflowId)).some((e) => e.type === 'dead-letter'), world().ms(10_000));
  });
}
