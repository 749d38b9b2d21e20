import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AgentBus, textOfParts, type Transport } from '@a2a-bus/core';
import { expect, it } from 'vitest';
import { delay } from '../conformance/context.js';
/** Broker objects of one namespace (see packages/cli/src/soak/broker-objects.ts). */
export interface ObjectCount {
  readonly total: number;
  readonly detail: Record<string, number>;
}

export interface RestartSuiteOptions {
  readonly name: string;
  /** One client for the buses of this process. */
  readonly createTransport: () => Transport | Promise<Transport>;
  /** The broker objects of a namespace now. */
  readonly count: (namespace: string) => Promise<ObjectCount>;
  /**
   * How long a killed process's ephemeral state may stand before the backend or the next
   * process reclaims it (the adapter's stated reclaim time for the options used here).
   */
  readonly reclaimMs: number;
  /** How long the sweeper then checks that the state's owner stays gone before removing it (default 0). */
  readonly confirmMs?: number;
  /** Killed processes: the same adapter and options in child processes ended with SIGKILL. */
  readonly child?: { readonly backend: 'kafka' | 'redis-streams' | 'nats'; readonly options: Record<string, unknown> };
  /** Broker objects a restart may leave beyond the baseline, by design. Default 0. */
  readonly constant?: number;
}

const CLOSED = 80;
const KILLED_PROCESSES = 4;
const BUSES_PER_KILLED_PROCESS = 5;
const AGENT_TTL_MS = 2_000;

/**
 * Restarts leave nothing behind: 100 AgentBus instances start, dispatch once and stop — 80 close,
 * 20 die (SIGKILL, in child processes) — and the namespace's broker objects come back to the
 * baseline (plus the documented constant) within the reclaim time.
 */
export function restartLeftoversSuite(options: RestartSuiteOptions): void {
  const killed = options.child ? KILLED_PROCESSES * BUSES_PER_KILLED_PROCESS : 0;
  it(`[${options.name}] ${CLOSED + killed} AgentBus instances (${killed} SIGKILLed) leave the broker as they found it`, async () => {
    const namespace = `hyg-${randomUUID().slice(0, 8)}`;
    const transports: Transport[] = [];
    const open = async (): Promise<Transport> => {
      const transport = await options.createTransport();
      transports.push(transport);
      return transport;
    };
    const children: ReturnType<typeof spawn>[] = [];
    try {
      const worker = new AgentBus({ transport: await open(), namespace, agentTtlMs: AGENT_TTL_MS });
      await worker.registerAgent(
        { name: 'echo', description: 'echo agent', version: '1.0.0', skills: [{ id: 'echo', name: 'echo', tags: [] }] },
        { echo: (ctx) => textOfParts(ctx.message.parts) },
      );
      const callers = await open();
      const cycle = async (i: number): Promise<void> => {
        const bus = new AgentBus({ transport: callers, namespace, agentTtlMs: AGENT_TTL_MS });
        await bus.start();
        const task = await bus.dispatch('echo', `hello #${i}`, { timeoutMs: 30_000 });
        expect(task.status.state).toBe('TASK_STATE_COMPLETED');
        await bus.close();
      };
      await cycle(-1); // every shared topic of the namespace exists from here on
      const baseline = await options.count(namespace);

      for (let i = 0; i < CLOSED; i += 8) await Promise.all(Array.from({ length: 8 }, (_, j) => cycle(i + j)));
      if (options.child) {
        const started = Array.from({ length: KILLED_PROCESSES }, () => startChild(options.child!, namespace, children));
        await Promise.all(started);
        const during = await options.count(namespace);
        expect(during.total, `killed processes hold state while alive: ${JSON.stringify(during.detail)}`).toBeGreaterThan(baseline.total);
        for (const child of children) child.kill('SIGKILL');
      }
      // Past the reclaim time, the next process to start (the sweeper, where the backend does
      // not expire state by itself) finds the dead processes' state and removes it.
      const killedAt = Date.now();
      await delay(options.reclaimMs);
      await cycle(CLOSED);
      const expected = baseline.total + (options.constant ?? 0);
      let now = await options.count(namespace);
      while (now.total !== expected && Date.now() - killedAt < options.reclaimMs + (options.confirmMs ?? 0) + 15_000) {
        await delay(500);
        now = await options.count(namespace);
      }
      expect(now.total, `baseline ${JSON.stringify(baseline.detail)}, now ${JSON.stringify(now.detail)}`).toBe(expected);
      await worker.close();
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 500 })));
    }
  }, 150_000);
}

/** Starts a child process with buses of its own; resolves once they all dispatched once. */
function startChild(child: NonNullable<RestartSuiteOptions['child']>, namespace: string, children: ReturnType<typeof spawn>[]): Promise<void> {
  const script = fileURLToPath(new URL('./bus-process.ts', import.meta.url));
  const config = { ...child, namespace, buses: BUSES_PER_KILLED_PROCESS, agentTtlMs: AGENT_TTL_MS };
  const proc = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`bus process exited (${code}) before it was ready: ${stderr.slice(-2_000)}`)));
    setTimeout(() => reject(new Error(`bus process not ready within 60 s: ${stderr.slice(-2_000)}`)), 60_000).unref();
  });
}
