import { AgentBus, createTransport, type Logger, type Transport } from '@a2a-bus/core';
import { join } from 'node:path';
import { FileIdempotencyStore } from './file-idempotency-store.js';
import { Journal } from './journal.js';
import { cardFor, stepHandler } from './pipeline.js';

/** Everything a worker needs; passed to a worker process as JSON. */
export interface WorkerConfig {
  readonly worker: string;
  readonly url: string;
  readonly transportOptions: Record<string, unknown>;
  readonly namespace: string;
  readonly capabilities: readonly string[];
  readonly journalDir: string;
  readonly handlerMs: number;
  readonly longMs: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly agentTtlMs: number;
}

export interface RunningWorker {
  readonly transport: Transport;
  readonly bus: AgentBus;
  /** Drains and leaves (graceful). */
  stop(): Promise<void>;
  /** Abandons everything at once, as a crash does (in-process backends only). */
  crash(): Promise<void>;
}

/** Busy options every party of a run shares (driver and workers). */
export function busOptions(config: Pick<WorkerConfig, 'namespace' | 'maxAttempts' | 'timeoutMs' | 'agentTtlMs'>, logger: Logger) {
  return {
    namespace: config.namespace,
    logger,
    retry: { maxAttempts: config.maxAttempts, initialDelayMs: 50, maxDelayMs: 1_000 },
    timeoutMs: config.timeoutMs,
    agentTtlMs: config.agentTtlMs,
  };
}

/** Starts one worker: its own transport and agent bus, serving its capabilities, journaling every run. */
export async function startWorker(config: WorkerConfig, logger: Logger, pid = process.pid): Promise<RunningWorker> {
  const journal = new Journal(join(config.journalDir, `worker-${config.worker}.jsonl`));
  const transport = await createTransport(config.url, { ...config.transportOptions, logger });
  await transport.connect();
  const bus = new AgentBus({
    transport,
    instanceId: `chaos-${config.worker}-${pid}`,
    idempotencyStore: new FileIdempotencyStore(join(config.journalDir, 'idempotency')),
    ...busOptions(config, logger),
  });
  for (const capability of config.capabilities) {
    const handler = stepHandler(capability, journal, { worker: config.worker, pid }, config);
    await bus.registerAgent(cardFor(capability), { [capability]: handler });
  }
  return {
    transport,
    bus,
    async stop() {
      await bus.close();
      await transport.close();
      journal.close();
    },
    async crash() {
      journal.close();
      await transport.close({ drainTimeoutMs: 0 });
    },
  };
}
