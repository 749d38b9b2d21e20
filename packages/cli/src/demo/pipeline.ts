import { randomUUID } from 'node:crypto';
import { AgentBus, createTransport, TaskError, type Instrumentation, type Logger, type Transport } from '@a2a-bus/core';
import { percentile } from '../bench/stats.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { demoAgents, makeDocument, summarizeCard, type DemoWorkerConfig } from './agents.js';

export interface DemoOptions {
  readonly url: string;
  readonly workflows: number;
  /** Worker processes per agent. */
  readonly workers: number;
  /** Workflows in flight at once. */
  readonly concurrency: number;
  readonly transientEvery: number;
  readonly poisonEvery: number;
  /** Kill one summarize worker (no drain, nothing acknowledged) when this share of workflows is done. */
  readonly killAt: number | undefined;
  readonly logger: Logger;
  /** The library log level, for worker processes. */
  readonly logLevel: string;
  readonly print: (line: string) => void;
}

export interface DemoSummary {
  readonly workflows: number;
  readonly completed: number;
  readonly failed: number;
  readonly orderVerified: number;
  readonly orderViolations: string[];
  readonly retries: number;
  readonly deadLetters: number;
  readonly redeliveries: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly seconds: number;
  readonly killed: string | undefined;
}

/** A worker: in this process (its own transport and bus), or an OS process of its own. */
interface WorkerProcess {
  readonly name: string;
  /** Dies as a crash would: SIGKILL for a process; in this process, a close that drains nothing. */
  kill(): Promise<void>;
  /** Closes its agent bus (a process: ends it). */
  closeBus(): Promise<void>;
  /** Closes its transport, once every bus is closed (a process has closed its own). */
  closeTransport(): Promise<void>;
}

const STEPS = ['doc.extract', 'doc.summarize', 'doc.classify'];

/**
 * The demo: a dispatcher submits workflows; extract → summarize → classify agents, several
 * worker processes each, pass every workflow along. Each "process" has a transport and an
 * agent bus of its own, exactly as separate processes would.
 */
export async function runPipeline(options: DemoOptions): Promise<DemoSummary> {
  const { print } = options;
  const namespace = `demo-${randomUUID().slice(0, 8)}`;
  const counters = { retries: 0, deadLetters: 0, redeliveries: 0 };
  const instrumentation: Instrumentation = {
    onNack: () => void (counters.retries += 1),
    onDeadLetter: () => void (counters.deadLetters += 1),
    onRedeliver: () => void (counters.redeliveries += 1),
  };
  const open = async (): Promise<Transport> => {
    const transport = await createTransport(options.url, { logger: options.logger, instrumentation });
    await transport.connect();
    return transport;
  };
  const busOptions = { namespace, retry: { maxAttempts: 3, initialDelayMs: 50 }, agentTtlMs: 6_000, timeoutMs: 60_000 };

  print(`a2a-bus demo · backend ${options.url} · ${options.workflows} workflows · ${options.workers} workers per agent`);
  const workers: WorkerProcess[] = [];
  const faults = { transientEvery: options.transientEvery };
  // The worker --kill-worker kills is an OS process of its own (SIGKILL: nothing drains, nothing
  // is acknowledged), except on the memory backend, whose log lives in this process.
  const victimName = `${summarizeCard.name}#1`;
  const victimOwnProcess = options.killAt !== undefined && !options.url.startsWith('memory:');
  for (const agent of demoAgents(faults)) {
    for (let i = 1; i <= options.workers; i += 1) {
      const name = `${agent.card.name}#${i}`;
      if (victimOwnProcess && name === victimName) {
        workers.push(await forkWorker(name, { url: options.url, agent: agent.card.name, faults, logLevel: options.logLevel, bus: busOptions }));
        continue;
      }
      const transport = await open();
      const bus = new AgentBus({ transport, ...busOptions, logger: options.logger });
      await bus.registerAgent(agent.card, agent.handlers());
      workers.push({
        name,
        kill: () => transport.close({ drainTimeoutMs: 0 }),
        closeBus: () => bus.close(),
        closeTransport: () => transport.close(),
      });
    }
  }
  const dispatcherTransport = await open();
  const dispatcher = new AgentBus({ transport: dispatcherTransport, ...busOptions, logger: options.logger });
  await dispatcher.start();
  const deadline = Date.now() + 30_000;
  while (dispatcher.agents().length < workers.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  print(`started ${workers.length} workers: ${dispatcher.agents().length} agents live in the registry`);

  const latencies: number[] = [];
  const failures: string[] = [];
  let completed = 0;
  let killed: string | undefined;
  const started = performance.now();
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    print(
      `  ${completed + failures.length}/${options.workflows} done · ${(completed / elapsed).toFixed(0)} workflows/s · retries ${counters.retries} · dead letters ${counters.deadLetters}`,
    );
  }, 1_000);

  let next = 0;
  const runOne = async (): Promise<void> => {
    while (next < options.workflows) {
      const n = next++;
      const workflowId = `wf-${n}`;
      const t0 = performance.now();
      try {
        await dispatcher.dispatch('doc.extract', makeDocument(n, options.poisonEvery), { workflowId });
        completed += 1;
        latencies.push(performance.now() - t0);
      } catch (error) {
        failures.push(`${workflowId}: ${TaskError.isInstance(error) ? error.message : String(error)}`);
      }
      if (options.killAt !== undefined && !killed && completed >= options.workflows * options.killAt) {
        const victim = workers.find((w) => w.name === victimName)!;
        killed = victimOwnProcess ? `${victim.name} (an OS process, SIGKILL)` : `${victim.name} (in this process: memory backend)`;
        print(`  ✂ killing worker ${killed} mid-run: nothing drains, what it held is unacknowledged`);
        await victim.kill();
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, runOne));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;

  print('verifying per-workflow step order from the log…');
  const { verified, violations } = await verifyOrder(dispatcherTransport, `${namespace}.workflows`, options.workflows);

  await dispatcher.close();
  await Promise.allSettled(workers.map((w) => w.closeBus()));
  await Promise.allSettled([dispatcherTransport.close(), ...workers.map((w) => w.closeTransport())]);

  latencies.sort((a, b) => a - b);
  for (const failure of failures.slice(0, 5)) print(`  failed for good ${failure}`);
  return {
    workflows: options.workflows,
    completed,
    failed: failures.length,
    orderVerified: verified,
    orderViolations: violations,
    retries: counters.retries,
    deadLetters: counters.deadLetters,
    redeliveries: counters.redeliveries,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    seconds,
    killed,
  };
}

/**
 * Reads the audit trail once and checks every workflow: requests went extract → summarize
 * → classify, and completions came back classify → summarize → extract.
 */
async function verifyOrder(transport: Transport, topic: string, workflows: number): Promise<{ verified: number; violations: string[] }> {
  const requests = new Map<string, string[]>();
  const completions = new Map<string, string[]>();
  const seenTasks = new Set<string>();
  for await (const record of transport.replay(topic)) {
    const envelope = record.envelope;
    if (!envelope) continue;
    const capability = envelope.headers?.['a2a-bus.capability'] ?? '';
    const taskId = envelope.headers?.['a2a-bus.task-id'] ?? '';
    const type = envelope.headers?.['a2a-bus.type'];
    // Redelivered work re-records its steps; the first record of each task counts.
    if (type === 'task-request' && !seenTasks.has(`req:${taskId}`)) {
      seenTasks.add(`req:${taskId}`);
      requests.set(envelope.key, [...(requests.get(envelope.key) ?? []), capability]);
    }
    if (
      envelope.kind === 'stream-response' &&
      'task' in envelope.payload &&
      envelope.payload.task.status.state === 'TASK_STATE_COMPLETED' &&
      !seenTasks.has(`done:${taskId}`)
    ) {
      seenTasks.add(`done:${taskId}`);
      completions.set(envelope.key, [...(completions.get(envelope.key) ?? []), capability]);
    }
  }
  const violations: string[] = [];
  let verified = 0;
  for (let n = 0; n < workflows; n += 1) {
    const key = `wf-${n}`;
    const asked = (requests.get(key) ?? []).join(' → ');
    const done = (completions.get(key) ?? []).join(' → ');
    const fullRun = done === [...STEPS].reverse().join(' → ');
    if (!STEPS.join(' → ').startsWith(asked) || asked === '') violations.push(`${key}: requests ${asked || 'none'}`);
    else if (!STEPS.toReversed().join(' → ').startsWith(done)) violations.push(`${key}: completions ${done}`);
    else if (fullRun && asked !== STEPS.join(' → ')) violations.push(`${key}: completed without every step`);
    else verified += 1;
  }
  return { verified, violations };
}

/** Starts a worker as an OS process of its own; resolves once its agent is registered. */
async function forkWorker(name: string, config: DemoWorkerConfig): Promise<WorkerProcess> {
  // worker-main.ts next to this file when run from source (tsx), worker-main.js once built.
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const main = fileURLToPath(new URL(`./worker-main${extension}`, import.meta.url));
  const child = fork(main, [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo worker ${name} not ready within 30 s`));
    }, 30_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`demo worker ${name} exited during start (${signal ?? code})`));
    });
  });
  return {
    name,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    closeBus: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
    closeTransport: async () => {},
  };
}
