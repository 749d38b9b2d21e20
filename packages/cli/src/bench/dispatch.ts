import { AgentBus, type Transport } from '@a2a-bus/core';
import { deleteBusTopics } from './bus-topics.js';
import { alternate } from './harness.js';
import { startToFirstAnswer } from './start-stop.js';
import { percentile } from './stats.js';
import type { BenchRow } from './types.js';

/**
 * Dispatch round trip through the agent runtime: request → worker → result, sequentially
 * (latency) and with 64 in flight (throughput). Reused by every backend's bench. Both rows
 * are medians of `ROUNDS` alternating runs on the same agents, like the transport rows.
 */
export async function dispatchRoundTrip(
  backend: string,
  createTransport: () => Transport | Promise<Transport>,
  progress: (line: string) => void,
  count: number,
  /** The hello-agents row runs with the backend's default options (what the README program uses); defaults to `createTransport`. */
  createDefaultTransport: () => Transport | Promise<Transport> = createTransport,
  /** Dispatches per run with 64 in flight: enough for a run to last a few tenths of a second. */
  parallelCount = count,
): Promise<BenchRow[]> {
  const namespace = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const workerTransport = await createTransport();
  const callerTransport = await createTransport();
  const worker = new AgentBus({ transport: workerTransport, namespace, audit: false });
  const caller = new AgentBus({ transport: callerTransport, namespace, audit: false });
  await worker.registerAgent(
    { name: 'echo', description: 'echo', version: '1', skills: [{ id: 'bench.echo', name: 'echo', tags: [] }] },
    { 'bench.echo': () => 'ok' },
  );
  await caller.start();
  for (let i = 0; i < 200 && !caller.agents().length; i += 1) await new Promise((r) => setTimeout(r, 50));
  progress(`${backend}: dispatch round trip, sequential and 64 in flight…`);
  // Warm-up: a long-lived agent runs optimised code, so the rows measure that, not the JIT's first
  // thousand calls (in memory those put p99 at 0.3-0.7 ms instead of 0.1). Up to 2,000 dispatches or 3 s.
  const warmUntil = performance.now() + 3_000;
  for (let i = 0; i < 2_000 && performance.now() < warmUntil; i += 1) await caller.dispatch('bench.echo', 'warm-up', { workflowId: `w${i % 32}` });
  const sequential = async (): Promise<BenchRow> => {
    const samples: number[] = [];
    const started = performance.now();
    for (let i = 0; i < count; i += 1) {
      const t0 = performance.now();
      await caller.dispatch('bench.echo', 'ping', { workflowId: `w${i % 32}` });
      samples.push(performance.now() - t0);
    }
    const seconds = (performance.now() - started) / 1000;
    samples.sort((a, b) => a - b);
    return {
      backend,
      client: 'a2a-bus',
      scenario: 'dispatch round trip (request→worker→result), sequential',
      kind: 'dispatch',
      messages: count,
      seconds,
      msgsPerSec: count / seconds,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
    };
  };
  const parallel = async (): Promise<BenchRow> => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < parallelCount) {
          const i = next++;
          await caller.dispatch('bench.echo', 'ping', { workflowId: `w${i % 256}` });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      backend,
      client: 'a2a-bus',
      scenario: 'dispatch round trip, 64 in flight',
      kind: 'dispatch-parallel',
      messages: parallelCount,
      seconds,
      msgsPerSec: parallelCount / seconds,
    };
  };
  const rows = await alternate([sequential, parallel], progress);
  await caller.close();
  await worker.close();
  await deleteBusTopics(workerTransport, namespace, ['bench.echo']);
  await Promise.all([callerTransport.close(), workerTransport.close()]);
  rows.push(await startToFirstAnswer(backend, createDefaultTransport, progress));
  return rows;
}
