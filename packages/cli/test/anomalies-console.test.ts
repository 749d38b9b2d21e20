import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { publishAnomaly, type Anomaly } from '@a2a-bus/anomalies';
import { requireBroker, skippedSuite } from '../../../test/src/env.js';
import { AgentBus } from '@a2a-bus/core';
import { createRedisStreamsTransport } from '@a2a-bus/redis-streams';
import { afterEach, describe, expect, it } from 'vitest';
import { cliOk, jsonLines, startCli } from './support/run-cli.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(redisUrl);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));

function anomaly(namespace: string, kind: Anomaly['kind'] = 'payload-size'): Anomaly {
  return {
    id: randomUUID(),
    kind,
    capability: 'summarize',
    agent: 'bus-x/writer',
    observed: 90_000,
    baseline: 800,
    score: 40,
    window: 'one event',
    examples: ['m1'],
    at: new Date().toISOString(),
    detector: 'test',
    message: `summarize@bus-x/writer: ${kind} (${namespace})`,
  };
}

/** Lines of a child's stdout (or stderr), as they arrive. */
function lines(child: ReturnType<typeof startCli>, stream: 'stdout' | 'stderr' = 'stdout'): { next(match: RegExp, timeoutMs: number): Promise<string> } {
  let buffer = '';
  const waiters: Array<() => void> = [];
  child[stream]!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    async next(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = buffer.split('\n').find((l) => match.test(l));
        if (line) return line;
        if (Date.now() > deadline) throw new Error(`no line matching ${match} in ${timeoutMs} ms; got: ${buffer}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

if (skipReason) {
  skippedSuite('[redis-streams] a2a-bus anomalies / watch / console', skipReason);
} else {
  describe('[redis-streams] a2a-bus anomalies / watch / console', () => {
    // Every case has a namespace of its own; the CLI's transports use the defaults, so do these.
    const url = redisUrl;
    const transport = () => createRedisStreamsTransport({ url });
    let cleanups: Array<() => unknown> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups = [];
    });

    it('`anomalies` lists what was recorded; `--follow` prints new ones as they come', async () => {
      const namespace = `cli-${randomUUID().slice(0, 8)}`;
      const t = transport();
      cleanups.push(() => t.close());
      const first = anomaly(namespace);
      await publishAnomaly(t, namespace, first);
      const listed = jsonLines((await cliOk(['anomalies', '--url', url, '--namespace', namespace, '--json'])).stdout);
      expect(listed.map((a) => a.id)).toEqual([first.id]);
      const follower = startCli(['anomalies', '--url', url, '--namespace', namespace, '--follow']);
      cleanups.push(() => follower.kill('SIGKILL'));
      const out = lines(follower);
      await out.next(/payload-size/, 20_000);
      await lines(follower, 'stderr').next(/^following /, 20_000);
      const second = anomaly(namespace, 'retry-rate');
      await publishAnomaly(t, namespace, second);
      expect(await out.next(/retry-rate/, 20_000)).toContain('summarize@bus-x/writer');
    });

    it('`watch` observes the namespace on its own and reports an agent SIGKILLed while holding work', async () => {
      const namespace = `cli-${randomUUID().slice(0, 8)}`;
      const watcher = startCli(['watch', '--url', url, '--namespace', namespace, '--silent-after', '1500', '--tick', '250']);
      cleanups.push(() => watcher.kill('SIGKILL'));
      await lines(watcher, 'stderr').next(/^watching /, 20_000);
      const holdingAgent = fileURLToPath(new URL('../../anomalies/test/src/holding-agent.ts', import.meta.url));
      const spec = { backend: 'redis-streams', options: { url } };
      const agent = spawn(
        process.execPath,
        ['--conditions=@a2a-bus/source', '--import', 'tsx', holdingAgent, JSON.stringify(spec), namespace, 'hold', '1500'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      cleanups.push(() => agent.kill('SIGKILL'));
      const instance = (await lines(agent).next(/^ready /, 20_000)).slice('ready '.length).trim();
      const t = transport();
      const caller = new AgentBus({ transport: t, namespace, agentTtlMs: 1_500 });
      cleanups.push(
        () => t.close(),
        () => caller.close(),
      );
      await caller.start();
      void caller.dispatch('hold', 'hold this', { timeoutMs: 30_000, whenNoAgent: 'enqueue' }).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the agent picks it up and reports working
      agent.kill('SIGKILL');
      const line = await lines(watcher).next(/agent-silent/, 10_000);
      expect(line).toContain(`hold@${instance}`);
    });

    it('`console` serves the pages and prints where', async () => {
      const namespace = `cli-${randomUUID().slice(0, 8)}`;
      const served = startCli(['console', '--url', url, '--namespace', namespace, '--port', '0']);
      cleanups.push(() => served.kill('SIGTERM'));
      const line = await lines(served).next(/http:\/\//, 20_000);
      const address = /(http:\/\/\S+?)\/?$/.exec(line)![1]!;
      for (const page of ['/agents', '/workflows', '/lag', '/dead-letters', '/anomalies']) expect((await fetch(`${address}${page}`)).status).toBe(200);
    });
  });
}
