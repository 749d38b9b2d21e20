import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentBus, createTransport, type AuditEntry, type Logger } from '@a2a-bus/core';
import { startOwnBroker, sharedBrokerUrl } from './brokers.js';
import { Fleet } from './fleet.js';
import { Journal, now } from './journal.js';
import { backendDefaults, type ChaosOptions } from './options.js';
import { steps, type Job } from './pipeline.js';
import { planRun, type PlannedFault } from './schedule.js';
import { busOptions } from './worker.js';

/** What the driver hands the verifier besides the journals. */
export interface RunOutcome {
  readonly dir: string;
  readonly url: string;
  readonly seconds: number;
  readonly audits: ReadonlyMap<string, AuditEntry[]>;
  readonly faultsDone: number;
  readonly faultsPlanned: number;
}

const transportUrlFor = (backend: ChaosOptions['backend']): string => (backend === 'redis' ? 'redis' : backend);

/**
 * Runs one chaos experiment: starts the broker (its own, unless `url` is given), the worker
 * processes and a driver bus, dispatches every workflow with many in flight while the
 * planned faults strike, then collects `audit()` for the verifier.
 */
export async function runChaos(options: ChaosOptions, logger: Logger, print: (line: string) => void): Promise<RunOutcome> {
  const defaults = backendDefaults(options.backend);
  const pauseMs = options.pauseMs ?? defaults.pauseMs;
  const longMs = options.longMs ?? defaults.longMs;
  const namespace = `chaos-${options.seed}-${randomUUID().slice(0, 6)}`;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `a2a-bus-chaos-${options.backend}-`));
  mkdirSync(dir, { recursive: true });
  // The verifier reads every journal in the directory: an earlier run's would be judged with this one.
  if (readdirSync(dir).length > 0) throw new Error(`--dir ${dir} is not empty (journals of an earlier run?): give an empty or new directory`);
  const inProcess = options.backend === 'memory';
  const broker = options.url || inProcess ? undefined : await startOwnBroker(options.backend, options.port);
  const url = options.url ?? broker?.url ?? sharedBrokerUrl(options.backend, namespace);
  const plan = planRun(options, !inProcess, broker !== undefined);
  print(
    `chaos · ${transportUrlFor(options.backend)} at ${url} · ${options.workflows} workflows × ${options.rounds} rounds · ${options.workers} workers per step · seed ${options.seed}`,
  );
  print(`  faults: ${plan.faults.map((f) => `${f.kind}@${Math.round(f.atShare * 100)}%`).join(', ') || 'none'} · journals in ${dir}`);

  const journal = new Journal(join(dir, 'driver.jsonl'));
  const config = {
    url,
    transportOptions: options.transportOptions,
    namespace,
    journalDir: dir,
    handlerMs: options.handlerMs,
    longMs,
    maxAttempts: 3,
    timeoutMs: options.timeoutMs,
    agentTtlMs: 15_000,
  };
  const fleet = new Fleet({ base: config, journal, inProcess, logger });
  const transport = await createTransport(url, { ...options.transportOptions, logger });
  const driver = new AgentBus({ transport, instanceId: `chaos-driver-${process.pid}`, ...busOptions(config, logger) });
  const audits = new Map<string, AuditEntry[]>();
  let faultsDone = 0;
  const started = now();
  try {
    await driver.start();
    for (const step of steps) await Promise.all(Array.from({ length: options.workers }, () => fleet.spawn([step])));
    const expected = steps.length * options.workers;
    const registryDeadline = Date.now() + 60_000;
    while (new Set(driver.agents().map((a) => a.instanceId)).size < expected && Date.now() < registryDeadline) await sleep(50);
    print(`  ${fleet.live().length} worker processes up (${driver.agents().length} agents in the registry)`);

    let finished = 0;
    let failed = 0;
    /** Workflows with a round that failed: their audit is always read (the verifier looks for the dead letter). */
    const failedWorkflows = new Set<number>();
    let next = 0;
    const runWorkflow = async (n: number): Promise<void> => {
      const wf = `wf-${n}`;
      const results: Array<Promise<void>> = [];
      for (let round = 1; round <= options.rounds; round += 1) {
        const job: Job = { wf, round, poison: plan.poison.has(n) && round === 1, long: plan.long.has(n) && round === 1 };
        const task = `${wf}:r${round}`;
        const stream = driver.dispatchStream(steps[0], JSON.stringify(job), { workflowId: wf, taskId: task, whenNoAgent: 'enqueue' });
        let first: IteratorResult<unknown>;
        try {
          first = await stream.next(); // resolves once the request is published: the next round goes after it
        } catch (error) {
          journal.append({ ev: 'result', wf, round, task, state: 'not-dispatched', reason: describe(error), at: now() });
          continue;
        }
        journal.append({ ev: 'dispatch', wf, round, task, poison: job.poison, long: job.long, at: now() });
        results.push(
          (async () => {
            let state = 'completed';
            let reason: string | undefined;
            try {
              if (!first.done) for await (const _ of stream);
            } catch (error) {
              state = (error as { state?: string }).state ?? 'error';
              reason = describe(error);
            }
            journal.append({ ev: 'result', wf, round, task, state, ...(reason ? { reason } : {}), at: now() });
            if (state !== 'completed') {
              failed += 1;
              failedWorkflows.add(n);
            }
          })(),
        );
      }
      await Promise.all(results);
      finished += 1;
    };
    const runner = async (): Promise<void> => {
      while (next < options.workflows) await runWorkflow(next++);
    };

    const pending = [...plan.faults];
    let faultChain = Promise.resolve();
    const progress = setInterval(() => {
      const elapsed = (now() - started) / 1000;
      print(
        `  [${elapsed.toFixed(0)} s] ${finished}/${options.workflows} workflows done · ${failed} rounds failed · faults ${faultsDone}/${plan.faults.length} · ${fleet.live().length} workers`,
      );
    }, 2_000);
    const faultTimer = setInterval(() => {
      while (pending.length && finished >= pending[0]!.atShare * options.workflows) {
        const fault = pending.shift()!;
        faultChain = faultChain
          .then(() => strike(fault))
          .then(
            () => void (faultsDone += 1),
            (error: unknown) => print(`  ! fault ${fault.kind} failed: ${describe(error)}`),
          );
      }
    }, 50);
    const strike = async (fault: PlannedFault): Promise<void> => {
      if (fault.kind === 'broker-restart') {
        const t0 = now();
        print(`  ⟳ restarting the broker`);
        await broker!.restart();
        journal.append({ ev: 'broker-restart', at: t0, until: now() });
        print(`  ⟳ broker back after ${((now() - t0) / 1000).toFixed(1)} s`);
        return;
      }
      const candidates = fleet.live().filter((w) => !w.paused);
      const victim = candidates[plan.pick(candidates.length)];
      if (!victim) return;
      if (fault.kind === 'pause') {
        print(`  ⏸ SIGSTOP ${victim.name} (pid ${victim.pid}, ${victim.capabilities.join(',')}) for ${(pauseMs / 1000).toFixed(0)} s`);
        fleet.pause(victim, pauseMs);
        return;
      }
      print(`  ✂ SIGKILL ${victim.name} (pid ${victim.pid}, ${victim.capabilities.join(',')}); starting a replacement`);
      await fleet.kill(victim);
      const replacement = await fleet.spawn(victim.capabilities, victim.name);
      print(`  + ${replacement.name} (pid ${replacement.pid}) replaces ${victim.name}`);
    };

    await Promise.all(Array.from({ length: options.concurrency }, runner));
    clearInterval(faultTimer);
    clearInterval(progress);
    await faultChain;
    print(`  all ${options.workflows} workflows finished after ${((now() - started) / 1000).toFixed(1)} s; stopping workers`);
    await fleet.stopAll();

    const sample = [...new Set([...auditSample(options, plan.poison, plan.long), ...failedWorkflows])];
    await readAudits(sample, (wf) => driver.audit(wf), audits, print);
  } finally {
    await fleet.stopAll().catch(() => {});
    await driver.close().catch(() => {});
    await transport.close().catch(() => {});
    journal.close();
    await broker?.stop().catch(() => {});
  }
  return { dir, url, seconds: (now() - started) / 1000, audits, faultsDone, faultsPlanned: plan.faults.length };
}

/** Audits read at once: each is a replay of the workflow's partition of the audit topic. */
const AUDIT_READERS = 4;
const AUDIT_PROGRESS_MS = 10_000;

/**
 * Reads `audit()` of the sampled workflows, a few at a time, with progress and an estimate of
 * the time left: on Kafka each audit reads its key's whole partition of the audit topic, so
 * auditing every workflow of a 10 000-workflow run takes hours (`--audit-sample` bounds it).
 */
async function readAudits(
  sample: readonly number[],
  audit: (workflowId: string) => Promise<AuditEntry[]>,
  into: Map<string, AuditEntry[]>,
  print: (line: string) => void,
): Promise<void> {
  print(`  reading audit() of ${sample.length} workflows (${AUDIT_READERS} at a time; --audit-sample N reads fewer)`);
  const started = now();
  let next = 0;
  const progress = setInterval(() => {
    const done = into.size;
    const perAudit = (now() - started) / Math.max(1, done);
    print(`  [audit] ${done}/${sample.length} read · about ${Math.ceil((perAudit * (sample.length - done)) / 60_000)} min left`);
  }, AUDIT_PROGRESS_MS);
  try {
    const reader = async (): Promise<void> => {
      while (next < sample.length) {
        const workflowId = `wf-${sample[next++]}`;
        into.set(workflowId, await audit(workflowId));
      }
    };
    await Promise.all(Array.from({ length: AUDIT_READERS }, reader));
  } finally {
    clearInterval(progress);
  }
  print(`  read ${into.size} audits in ${((now() - started) / 1000).toFixed(1)} s`);
}

/** Every workflow, or a sample that always includes the poison and long ones. */
function auditSample(options: ChaosOptions, poison: ReadonlySet<number>, long: ReadonlySet<number>): number[] {
  const all = Array.from({ length: options.workflows }, (_, n) => n);
  if (options.auditSample === undefined || options.auditSample >= options.workflows) return all;
  const chosen = new Set<number>([...poison, ...long]);
  const stride = Math.max(1, Math.floor(options.workflows / Math.max(1, options.auditSample)));
  for (let n = 0; n < options.workflows && chosen.size < options.auditSample + poison.size + long.size; n += stride) chosen.add(n);
  return [...chosen].sort((a, b) => a - b);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
