import { AgentBus, generateAgentKeys, signEnvelope, verifyEnvelope, type EnvelopeInput, type Transport, type TrustOptions } from '@a2a-bus/core';
import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { deleteBusTopics } from './bus-topics.js';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import type { BenchRow, BenchSuite } from './types.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * What signing and verification cost: dispatch throughput (64 in flight, audit on, as the
 * runtime runs by default) with trust off and with trust enforced, on the same backend,
 * alternating rounds so both see the same machine load. Plus the cost of one signature and
 * one verification of a 1 KiB envelope.
 */
export const suite: BenchSuite = async (progress) => {
  const rows: BenchRow[] = [signingCost(progress)];
  const broker = new MemoryBroker();
  rows.push(...(await compare('memory', () => createMemoryTransport({ broker, partitions: 8 }), 3_000, progress)));
  const keyPrefix = `bench-trust-${Math.random().toString(36).slice(2, 8)}:`;
  rows.push(...(await compare('redis-streams', () => createRedisStreamsTransport({ url: redisUrl, keyPrefix }), 2_000, progress)));
  return rows;
};

function signingCost(progress: (line: string) => void): BenchRow {
  progress('trust: sign + verify one 1 KiB envelope…');
  const keys = generateAgentKeys();
  const input: EnvelopeInput = { kind: 'message', key: 'k', payload: { messageId: 'bench', role: 'ROLE_USER', parts: [{ text: 'x'.repeat(1024) }] } };
  const n = 2_000;
  const started = performance.now();
  for (let i = 0; i < n; i += 1) {
    if (!verifyEnvelope(signEnvelope(input, keys)).verified) throw new Error('signature did not verify');
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    backend: 'memory',
    client: 'a2a-bus',
    scenario: 'trust: sign + verify one 1 KiB envelope (Ed25519)',
    messages: n,
    seconds,
    msgsPerSec: n / seconds,
    p50Ms: (seconds * 1000) / n,
  };
}

async function compare(backend: string, createTransport: () => Transport, count: number, progress: (line: string) => void): Promise<BenchRow[]> {
  const seconds = { off: 0, enforce: 0 };
  const rounds = 3;
  for (let round = 0; round < rounds; round += 1) {
    for (const mode of ['off', 'enforce'] as const) {
      progress(`trust: ${backend} dispatch, trust ${mode}, round ${round + 1}/${rounds}…`);
      seconds[mode] += await dispatchThroughput(createTransport, mode, Math.ceil(count / rounds));
    }
  }
  const total = Math.ceil(count / rounds) * rounds;
  const off = total / seconds.off;
  const on = total / seconds.enforce;
  const loss = `${(((off - on) / off) * 100).toFixed(0)}% fewer dispatches/s than trust off`;
  return [
    { backend, client: 'a2a-bus', scenario: 'dispatch, 64 in flight, trust off', messages: total, seconds: seconds.off, msgsPerSec: off },
    {
      backend,
      client: 'a2a-bus',
      scenario: 'dispatch, 64 in flight, trust enforce (signed + verified)',
      messages: total,
      seconds: seconds.enforce,
      msgsPerSec: on,
      note: loss,
    },
  ];
}

/** Seconds for `count` dispatches at 64 in flight between a caller and a worker bus, each on a transport of its own. */
async function dispatchThroughput(createTransport: () => Transport, mode: 'off' | 'enforce', count: number): Promise<number> {
  const namespace = `bench-trust-${Math.random().toString(36).slice(2, 8)}`;
  const callerKeys = generateAgentKeys();
  const workerKeys = generateAgentKeys();
  const policy = { serve: { 'bench.echo': [workerKeys.publicKey] }, dispatch: { 'bench.echo': [callerKeys.publicKey] } };
  const trust = (keys: typeof callerKeys): TrustOptions => ({ mode, keys, policy });
  const transports = [createTransport(), createTransport()];
  const worker = new AgentBus({ transport: transports[0]!, namespace, trust: trust(workerKeys) });
  const caller = new AgentBus({ transport: transports[1]!, namespace, trust: trust(callerKeys) });
  try {
    await worker.registerAgent(
      { name: 'echo', description: 'echo', version: '1', skills: [{ id: 'bench.echo', name: 'echo', tags: [] }] },
      { 'bench.echo': () => 'ok' },
    );
    await caller.start();
    for (let i = 0; i < 200 && !caller.agents().length; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 100; i += 1) await caller.dispatch('bench.echo', 'warm-up', { workflowId: `w${i % 32}` });
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < count) {
          const i = next++;
          await caller.dispatch('bench.echo', 'ping', { workflowId: `w${i % 256}` });
        }
      }),
    );
    return (performance.now() - started) / 1000;
  } finally {
    await caller.close();
    await worker.close();
    await deleteBusTopics(transports[0]!, namespace, ['bench.echo']);
    await Promise.all(transports.map((transport) => transport.close()));
  }
}
