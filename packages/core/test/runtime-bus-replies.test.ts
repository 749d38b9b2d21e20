import { describe, expect, it } from 'vitest';
import { createMemoryTransport, MemoryBroker } from '../../memory/src/index.js';
import { AgentBus, TransportClosedError } from '../src/index.js';
import { userText } from '../src/runtime/a2a.js';
import { runtimeHeaders } from '../src/runtime/topics.js';
import type { Transport } from '../src/transport.js';
import { card, useCleanup } from './support/runtime-fixtures.js';

const cleanup = useCleanup();

function memory(broker: MemoryBroker): Transport {
  const transport = createMemoryTransport({ broker, partitions: 1 });
  cleanup.push(() => transport.close({ drainTimeoutMs: 100 }));
  return transport;
}

describe('AgentBus: replies', () => {
  it('a request without a reply topic runs; its events go to the audit trail only', async () => {
    const broker = new MemoryBroker();
    const b = new AgentBus({ transport: memory(broker), namespace: 'ns', retry: { maxAttempts: 1 } });
    cleanup.push(() => b.close());
    await b.registerAgent(card('echo', 'text.echo'), { 'text.echo': () => 'done' });
    const outside = memory(broker);
    await outside.publish('ns.tasks.text.echo', {
      kind: 'message',
      key: 'wf-quiet',
      payload: userText('x', { taskId: 'quiet', contextId: 'wf-quiet' }),
      headers: { [runtimeHeaders.type]: 'task-request', [runtimeHeaders.taskId]: 'quiet' },
    });
    const states = async (): Promise<string[]> =>
      (await b.audit('wf-quiet')).map((e) => {
        const payload = e.envelope.payload as { task?: { status: { state: string } }; statusUpdate?: { status: { state: string } } };
        return e.type === 'dead-letter' ? 'dead-letter' : (payload.task?.status.state ?? payload.statusUpdate?.status.state ?? '?');
      });
    let seen: string[] = [];
    while (!seen.includes('TASK_STATE_COMPLETED') && !seen.includes('dead-letter')) {
      seen = await states();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen).toEqual(['TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']);
    const replies: string[] = [];
    for await (const record of outside.replay('ns.replies')) if (record.envelope) replies.push(record.envelope.headers?.[runtimeHeaders.type] ?? '');
    expect(replies).toEqual(['reply-probe']);
    // Nothing was written outside the namespace's topics.
    expect([...broker.allTopics()].map((topic) => topic.name).filter((name) => !name.startsWith('ns.'))).toEqual([]);
  });

  it('a closed bus says it is the runtime that is closed', async () => {
    const b = new AgentBus({ transport: memory(new MemoryBroker()), namespace: 'ns' });
    await b.start();
    await b.close();
    const error = await b.dispatch('x', 'y').catch((e: unknown) => e);
    expect(TransportClosedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('[a2a-bus] [runtime] cannot use the agent bus: the transport is closed');
  });
});
