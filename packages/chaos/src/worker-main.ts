#!/usr/bin/env node
/**
 * A worker process of the fault harness. The driver spawns it with its config as JSON in
 * argv[2]; it answers `ready` over IPC once its agents are registered, and drains on SIGTERM.
 * SIGKILL and SIGSTOP are the faults: nothing here softens them.
 */
import { pino } from 'pino';
import { startWorker, type WorkerConfig } from './worker.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const logger = pino({ level: process.env.CHAOS_LOG_LEVEL ?? 'warn', base: { worker: config.worker, pid: process.pid } }, pino.destination(2));

try {
  const worker = await startWorker(config, logger);
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(3), 30_000);
    force.unref();
    void worker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'worker stop failed');
        process.exit(1);
      },
    );
  });
  // An orphan (the driver died) must not keep consuming: leave at once.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
} catch (error) {
  logger.error({ err: error }, 'worker failed to start');
  process.exit(2);
}
