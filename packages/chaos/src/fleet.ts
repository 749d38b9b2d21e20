import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@a2a-bus/core';
import { now, type Journal } from './journal.js';
import { startWorker, type RunningWorker, type WorkerConfig } from './worker.js';

export interface WorkerHandle {
  readonly name: string;
  readonly pid: number;
  readonly capabilities: readonly string[];
  alive: boolean;
  paused: boolean;
}

interface Slot extends WorkerHandle {
  readonly child?: ChildProcess;
  readonly inProcess?: RunningWorker;
}

const workerMain = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
const READY_TIMEOUT_MS = 90_000;

/**
 * The worker processes of a run. Each is a separate OS process (`worker-main.ts`) with its
 * own transport and agent bus — except on the memory backend, whose log lives in one
 * process: there workers run in the driver and a kill abandons the transport instead.
 */
export class Fleet {
  private readonly slots: Slot[] = [];
  private counter = 0;
  private readonly base: Omit<WorkerConfig, 'worker' | 'capabilities'>;
  private readonly journal: Journal;
  private readonly inProcess: boolean;
  private readonly logger: Logger;
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(options: { base: Omit<WorkerConfig, 'worker' | 'capabilities'>; journal: Journal; inProcess: boolean; logger: Logger }) {
    this.base = options.base;
    this.journal = options.journal;
    this.inProcess = options.inProcess;
    this.logger = options.logger;
  }

  live(): WorkerHandle[] {
    return this.slots.filter((s) => s.alive);
  }

  all(): WorkerHandle[] {
    return [...this.slots];
  }

  /** Starts a worker serving `capabilities` and resolves once its agents are registered. */
  async spawn(capabilities: readonly string[], replaces?: string): Promise<WorkerHandle> {
    this.counter += 1;
    const name = `w${this.counter}`;
    const config: WorkerConfig = { ...this.base, worker: name, capabilities };
    let slot: Slot;
    if (this.inProcess) {
      const pid = 1_000_000 + this.counter; // in-process workers: a pid of their own for the journals
      const inProcess = await startWorker(config, this.logger.child({ worker: name }), pid);
      slot = { name, pid, capabilities, alive: true, paused: false, inProcess };
    } else {
      const child = await forkWorker(config);
      slot = { name, pid: child.pid!, capabilities, alive: true, paused: false, child };
      child.once('exit', () => void (slot.alive = false));
    }
    this.slots.push(slot);
    this.journal.append({ ev: 'spawn', worker: name, pid: slot.pid, caps: capabilities, at: now(), ...(replaces ? { replaces } : {}) });
    return slot;
  }

  /** SIGKILL: no drain, no goodbye; whatever it held is unacknowledged. */
  async kill(handle: WorkerHandle): Promise<void> {
    const slot = this.slot(handle);
    this.journal.append({ ev: 'kill', worker: slot.name, pid: slot.pid, at: now() });
    slot.alive = false;
    if (slot.inProcess) await slot.inProcess.crash();
    else slot.child!.kill('SIGKILL');
  }

  /** SIGSTOP now, SIGCONT after `ms`: the process sleeps through its lease or session. */
  pause(handle: WorkerHandle, ms: number): void {
    const slot = this.slot(handle);
    if (!slot.child) throw new Error('pausing needs worker processes (not the memory backend)');
    this.journal.append({ ev: 'pause', worker: slot.name, pid: slot.pid, at: now(), until: now() + ms });
    slot.paused = true;
    slot.child.kill('SIGSTOP');
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      slot.paused = false;
      if (slot.alive) slot.child!.kill('SIGCONT');
    }, ms);
    this.resumeTimers.add(timer);
  }

  /** Resumes paused workers, then drains every live one (SIGTERM), killing those that do not exit in time. */
  async stopAll(): Promise<void> {
    for (const timer of this.resumeTimers) clearTimeout(timer);
    await Promise.all(
      this.slots
        .filter((s) => s.alive)
        .map(async (slot) => {
          slot.alive = false;
          if (slot.inProcess) return slot.inProcess.stop().catch(() => {});
          const child = slot.child!;
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 40_000);
          await exited;
          clearTimeout(force);
        }),
    );
  }

  private slot(handle: WorkerHandle): Slot {
    const slot = this.slots.find((s) => s.name === handle.name);
    if (!slot) throw new Error(`no worker ${handle.name}`);
    return slot;
  }
}

async function forkWorker(config: WorkerConfig): Promise<ChildProcess> {
  const log = openSync(join(config.journalDir, `worker-${config.worker}.log`), 'a');
  const child = fork(workerMain, [JSON.stringify(config)], {
    execArgv: ['--conditions=@a2a-bus/source', '--import', import.meta.resolve('tsx')],
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${config.worker} not ready within ${READY_TIMEOUT_MS} ms (see worker-${config.worker}.log)`));
    }, READY_TIMEOUT_MS);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker ${config.worker} exited during start (${signal ?? code}; see worker-${config.worker}.log)`));
    });
  });
  return child;
}
