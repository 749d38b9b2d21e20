import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { type StreamResponse, TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { afterAll, expect, it } from 'vitest';
import { LogExecutionEventBusManager, LogTaskStore, TaskLog } from '../src/index.js';
import { sendRequest, startSdkServer, textOf, WordsExecutor } from './suite/fixtures.js';
import { waitFor } from './suite/helpers.js';

const broker = new MemoryBroker();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** One plain SDK server (DefaultRequestHandler + executor) whose TaskStore and event buses are the log's. */
async function sdkServerOnTheLog(): Promise<string> {
  const transport = createMemoryTransport({ broker, partitions: 4 });
  const taskLog = new TaskLog({ transport, namespace: 'sdk-servers' });
  await taskLog.start();
  const store = new LogTaskStore({ transport, namespace: 'sdk-servers', taskLog });
  const server = await startSdkServer(new WordsExecutor(80), 'words', store, new LogExecutionEventBusManager(taskLog));
  closers.push(async () => {
    await server.close();
    await taskLog.close();
    await transport.close();
  });
  return server.url;
}

it('two plain SDK servers sharing a LogTaskStore answer GetTask and ListTasks for each other', async () => {
  const [first, second] = [await sdkServerOnTheLog(), await sdkServerOnTheLog()];
  const a = await new ClientFactory().createFromUrl(first);
  const b = await new ClientFactory().createFromUrl(second);
  const task = (await a.sendMessage(sendRequest('stored on the log', { contextId: 'shared-ctx' }))) as Task;
  expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  let seen: Task | undefined;
  await waitFor(
    'the second server to know the task',
    async () => {
      seen = await b.getTask({ tenant: '', id: task.id }).catch(() => undefined);
      return seen?.status?.state === TaskState.TASK_STATE_COMPLETED;
    },
    5_000,
  );
  expect(seen!.artifacts.map((x) => textOf(x.parts))).toEqual(['STORED', 'ON', 'THE', 'LOG']);
  const listed = await b.listTasks({ tenant: '', contextId: 'shared-ctx', status: 0, pageToken: '', statusTimestampAfter: undefined, includeArtifacts: false });
  expect(listed.tasks.map((t) => t.id)).toEqual([task.id]);
});

it('resubscribing on another SDK server follows a task this one runs, to its end (LogExecutionEventBusManager)', async () => {
  const [first, second] = [await sdkServerOnTheLog(), await sdkServerOnTheLog()];
  const abort = new AbortController();
  let taskId = '';
  const seenFirst: StreamResponse[] = [];
  for await (const event of (await new ClientFactory().createFromUrl(first)).sendMessageStream(sendRequest('one two three four five six'), {
    signal: abort.signal,
  })) {
    seenFirst.push(event);
    if (event.payload?.$case === 'task') taskId = event.payload.value.id;
    if (seenFirst.length === 3) break;
  }
  abort.abort();
  const b = await new ClientFactory().createFromUrl(second);
  await waitFor('the second server to know the task', async () => (await b.getTask({ tenant: '', id: taskId }).catch(() => undefined)) !== undefined, 5_000);
  const events: StreamResponse[] = [];
  for await (const event of b.resubscribeTask({ tenant: '', id: taskId })) events.push(event);
  expect(events[0]?.payload?.$case).toBe('task');
  const last = events.at(-1)!.payload!.value as Task;
  expect(last.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  expect(last.artifacts.map((x) => textOf(x.parts))).toEqual(['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE', 'SIX']);
  expect(events.length).toBeGreaterThan(2); // followed live, not just a final snapshot
});
