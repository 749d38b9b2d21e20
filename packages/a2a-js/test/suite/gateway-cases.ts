import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { expect, it } from 'vitest';
import { BUS_PROTOCOL_BINDING } from '../../src/index.js';
import { sendRequest, textOf } from './fixtures.js';
import { waitFor } from './helpers.js';
import type { InteropWorld } from './setup.js';

export function gatewayCases(world: () => InteropWorld, multiplier: number): void {
  const test = (name: string, fn: () => Promise<void>): void => {
    it(name, fn, 60_000 * multiplier);
  };

  test('serves one agent card whose skills are the live capabilities, as application/a2a+json', async () => {
    const response = await fetch(`${world().gatewayUrls[1]}/.well-known/agent-card.json`);
    expect(response.headers.get('content-type')).toMatch(/^application\/a2a\+json/);
    const card = (await response.json()) as {
      skills: Array<{ id: string }>;
      supportedInterfaces: Array<{ protocolBinding: string; url: string }>;
      capabilities: { streaming: boolean };
    };
    expect(card.skills.map((s) => s.id)).toEqual(['countdown', 'echo', 'hold', 'words.upper']);
    expect(card.supportedInterfaces.map((i) => i.protocolBinding)).toEqual(['JSONRPC', 'HTTP+JSON', BUS_PROTOCOL_BINDING]);
    expect(card.supportedInterfaces[0]!.url).toBe(`${world().gatewayUrls[1]}/a2a/jsonrpc`);
    expect(card.capabilities.streaming).toBe(true);
  });

  test("an SDK client that prefers the bus binding takes it from the gateway's card and skips HTTP", async () => {
    const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [world().busFactory],
      preferredTransports: [BUS_PROTOCOL_BINDING],
    });
    const client = await new ClientFactory(options).createFromUrl(world().gatewayUrls[0]!);
    expect(client.transport.protocolName).toBe(BUS_PROTOCOL_BINDING);
    const task = (await client.sendMessage(sendRequest('via the card', { skill: 'echo' }))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(task.artifacts.at(-1)!.parts)).toContain('echo:via the card');
  });

  test('a client that drops its SubscribeToTask stream stops the gateway following the task', async () => {
    const a = await world().httpClient(0);
    const held = (await a.sendMessage(sendRequest('wait', { skill: 'hold', returnImmediately: true }))) as Task;
    const b = await world().httpClient(1);
    const abort = new AbortController();
    for await (const event of b.resubscribeTask({ tenant: '', id: held.id }, { signal: abort.signal })) {
      expect(event.payload?.$case).toBe('task');
      expect(world().gateways[1]!.taskLog.followerCount(held.id)).toBe(1);
      break;
    }
    abort.abort();
    await waitFor('the gateway to let go of the stream', () => world().gateways[1]!.taskLog.followerCount(held.id) === 0, world().ms(5_000));
    expect((await b.cancelTask({ tenant: '', id: held.id, metadata: undefined })).status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  test('a task that needs no waiting: returnImmediately answers submitted, GetTask on the other instance later sees it done', async () => {
    const a = await world().httpClient(0);
    const submitted = (await a.sendMessage(sendRequest('3', { skill: 'countdown', returnImmediately: true }))) as Task;
    expect(submitted.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED);
    const b = await world().httpClient(1);
    await waitFor(
      'completion seen by the other gateway',
      async () => (await b.getTask({ tenant: '', id: submitted.id })).status?.state === TaskState.TASK_STATE_COMPLETED,
      world().ms(15_000),
    );
    const done = await b.getTask({ tenant: '', id: submitted.id, historyLength: 0 });
    expect(done.artifacts.map((x) => x.artifactId)).toEqual(['part-1', 'part-2', 'part-3']);
    expect(done.history).toEqual([]);
  });
}
