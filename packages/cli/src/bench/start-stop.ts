import { AgentBus, textOfParts, type Transport } from '@a2a-bus/core';
import { deleteBusTopics } from './bus-topics.js';
import { percentile } from './stats.js';
import type { BenchRow } from './types.js';

/**
 * The README's hello-agents program, timed in process (modules already loaded): a transport,
 * a worker and a caller start, one dispatch is answered, everything closes. What a restarted
 * agent pays in per-process broker state; the median of `runs` cold cycles, each in a fresh
 * namespace.
 */
export async function startToFirstAnswer(
  backend: string,
  createTransport: () => Transport | Promise<Transport>,
  progress: (line: string) => void,
  runs = 3,
): Promise<BenchRow> {
  progress(`${backend}: start → first dispatch answered → closed…`);
  const samples: number[] = [];
  const namespaces: string[] = [];
  for (let run = 0; run < runs; run += 1) {
    const namespace = `hello-${Math.random().toString(36).slice(2, 8)}`;
    namespaces.push(namespace);
    const started = performance.now();
    const transport = await createTransport();
    const worker = new AgentBus({ transport, namespace });
    await worker.registerAgent(
      { name: 'shouter', description: 'Upper-cases text', version: '1.0.0', skills: [{ id: 'text.shout', name: 'Shout', tags: [] }] },
      { 'text.shout': (task) => textOfParts(task.message.parts).toUpperCase() },
    );
    const caller = new AgentBus({ transport, namespace });
    await caller.dispatch('text.shout', 'hello, agents', { workflowId: 'greeting-1' });
    await caller.close();
    await worker.close();
    await transport.close();
    samples.push(performance.now() - started);
  }
  // Outside the timed cycles: one more transport deletes what the cycles made.
  const admin = await createTransport();
  for (const namespace of namespaces) await deleteBusTopics(admin, namespace, ['text.shout']);
  await admin.close();
  samples.sort((a, b) => a - b);
  const median = percentile(samples, 50);
  return {
    backend,
    client: 'a2a-bus',
    scenario: 'hello-agents: start → first dispatch answered → closed',
    messages: runs,
    seconds: samples.reduce((a, b) => a + b, 0) / 1000,
    msgsPerSec: runs / (samples.reduce((a, b) => a + b, 0) / 1000),
    p50Ms: median,
    p99Ms: samples[samples.length - 1],
    note: `median of ${runs} cold cycles`,
  };
}
