import { TaskState, type StreamResponse, type Task } from '@a2a-js/sdk';
import type { Client } from '@a2a-js/sdk/client';
import { expect, it } from 'vitest';
import { describeEvent, sendRequest, textOf } from './fixtures.js';
import { waitFor } from './helpers.js';
import type { InteropWorld } from './setup.js';

/** Which client sends and which one reads afterwards (the same one, or another gateway instance). */
export interface ClientPair {
  sender(skill: string): Promise<Client>;
  reader(skill: string): Promise<Client>;
}

/**
 * The A2A operations, checked through an ordinary `@a2a-js/sdk` Client: send, stream (in
 * order), get, list, cancel, and resubscribe after a dropped stream without losing an event.
 * Run over the bus transport and through the HTTP gateway (request on one instance, reads
 * on the other).
 */
export function operationCases(world: () => InteropWorld, multiplier: number, title: string, clients: ClientPair): void {
  const test = (name: string, fn: () => Promise<void>): void => {
    it(`${title}: ${name}`, fn, 60_000 * multiplier);
  };

  test('SendMessage blocks until the task completes and carries the A2A version to the agent', async () => {
    const client = await clients.sender('echo');
    const result = (await client.sendMessage(sendRequest('hello', { skill: 'echo' }))) as Task;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(result.artifacts.at(-1)!.parts)).toBe('echo:hello|caller=-|version=1.0');
    expect(textOf(result.history[0]!.parts)).toBe('hello');
  });

  test('SendStreamingMessage yields the task first, then every event in the order produced', async () => {
    const client = await clients.sender('countdown');
    const events: string[] = [];
    for await (const event of client.sendMessageStream(sendRequest('4', { skill: 'countdown' }))) events.push(describeEvent(event));
    expect(events).toEqual(['task:SUBMITTED', 'status:WORKING', 'artifact:part-1', 'artifact:part-2', 'artifact:part-3', 'artifact:part-4', 'task:COMPLETED']);
  });

  test('GetTask and ListTasks answer for a task another instance ran', async () => {
    const contextId = `ctx-${Math.random().toString(36).slice(2)}`;
    const sent = (await (await clients.sender('echo')).sendMessage(sendRequest('listed', { skill: 'echo', contextId }))) as Task;
    const reader = await clients.reader('echo');
    let got: Task | undefined;
    await waitFor(
      'the reader to see the task completed',
      async () => {
        got = await reader.getTask({ tenant: '', id: sent.id });
        return got.status?.state === TaskState.TASK_STATE_COMPLETED;
      },
      world().ms(10_000),
    );
    expect(got!.contextId).toBe(contextId);
    expect(textOf(got!.artifacts.at(-1)!.parts)).toBe('echo:listed|caller=-|version=1.0');
    const listed = await reader.listTasks({ tenant: '', contextId, status: 0, pageToken: '', statusTimestampAfter: undefined, includeArtifacts: true });
    expect(listed.tasks.map((t) => t.id)).toEqual([sent.id]);
    expect(listed.totalSize).toBe(1);
    expect(textOf(listed.tasks[0]!.artifacts.at(-1)!.parts)).toContain('echo:listed');
  });

  test('CancelTask on the reader stops a task the sender started', async () => {
    const submitted = (await (await clients.sender('hold')).sendMessage(sendRequest('wait', { skill: 'hold', returnImmediately: true }))) as Task;
    expect(submitted.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
    const reader = await clients.reader('hold');
    await waitFor(
      'the task to be working',
      async () => (await reader.getTask({ tenant: '', id: submitted.id })).status?.state === TaskState.TASK_STATE_WORKING,
      world().ms(10_000),
    );
    const canceled = await reader.cancelTask({ tenant: '', id: submitted.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  test('resubscribing after a dropped stream loses no event and keeps the order', async () => {
    const abort = new AbortController();
    const first: StreamResponse[] = [];
    let taskId = '';
    const stream = (await clients.sender('countdown')).sendMessageStream(sendRequest('6', { skill: 'countdown' }), { signal: abort.signal });
    for await (const event of stream) {
      first.push(event);
      if (event.payload?.$case === 'task') taskId = event.payload.value.id;
      if (first.length === 3) break; // task, working, part-1: then the connection drops
    }
    abort.abort();
    const second: StreamResponse[] = [];
    for await (const event of (await clients.reader('countdown')).resubscribeTask({ tenant: '', id: taskId })) second.push(event);
    const [snapshot, ...later] = second;
    expect(snapshot?.payload?.$case).toBe('task'); // A2A §3.1.6: the Task first
    const snapshotTask = snapshot!.payload!.value as Task;
    const seen = snapshotTask.artifacts.map((a) => a.artifactId);
    const after = later.filter((e) => e.payload?.$case === 'artifactUpdate').map((e) => describeEvent(e).replace('artifact:', ''));
    expect([...seen, ...after]).toEqual(['part-1', 'part-2', 'part-3', 'part-4', 'part-5', 'part-6']);
    expect(describeEvent(later.at(-1)!)).toBe('task:COMPLETED');
  });
}
