#!/usr/bin/env node
/**
 * `pnpm chaos`: the fault harness. Worker processes serve a 3-step chained pipeline while
 * they are SIGKILLed, paused and cut off from a restarted broker; the verifier checks the
 * fault model's invariants from the workers' journals and exits non-zero on any violation.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { chaos } from './chaos.js';
import { backends, parseChaosOptions, type ChaosBackend } from './options.js';
import { renderSummary } from './report.js';
import { verifyRun, type Verdict } from './verify.js';

const usage = `pnpm chaos [options]
  --backend memory|kafka|redis|nats|all   (default memory; repeatable, or comma-separated)
  --workflows <n> (200)   --rounds <n> requests per workflow (2)   --workers <n> per step (3)
  --concurrency <n> workflows in flight (48)
  --kills <n> (3)   --pauses <n> (1)   --broker-restarts <n> (1)   --seed <n> (1)
  --handler-ms <n> typical step time (20)   --poison <n> (3)   --long <n> (1)   --long-ms <n>
  --pause-ms <n>   --recovery-bound-ms <n> (10000)   --audit-sample <n> (all)
  --url <url> use this broker (no restarts)   --transport-options '<json>'
  --verify-only <dir> re-check the journals of an earlier run
  --dir <path> journals (an empty directory; one subdirectory per backend)   --port <n> first port of the run's own broker (40000)   --log-level warn`;

const { values } = parseArgs({
  options: {
    backend: { type: 'string', multiple: true },
    workflows: { type: 'string' },
    rounds: { type: 'string' },
    workers: { type: 'string' },
    concurrency: { type: 'string' },
    kills: { type: 'string' },
    pauses: { type: 'string' },
    'broker-restarts': { type: 'string' },
    seed: { type: 'string' },
    'handler-ms': { type: 'string' },
    poison: { type: 'string' },
    long: { type: 'string' },
    'long-ms': { type: 'string' },
    'pause-ms': { type: 'string' },
    'recovery-bound-ms': { type: 'string' },
    'audit-sample': { type: 'string' },
    'timeout-ms': { type: 'string' },
    url: { type: 'string' },
    'transport-options': { type: 'string' },
    dir: { type: 'string' },
    port: { type: 'string' },
    'log-level': { type: 'string' },
    'verify-only': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

if (values['verify-only']) {
  // Re-checks the journals of an earlier run (without its audit trail, which died with its broker).
  const verdict = verifyRun({ dir: values['verify-only'], recoveryBoundMs: Number(values['recovery-bound-ms'] ?? 10_000), audits: new Map() });
  for (const line of renderSummary([{ backend: values['verify-only'], verdict, seconds: 0 }], 200)) process.stdout.write(`${line}\n`);
  process.exit(verdict.violations.length ? 1 : 0);
}

const int = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
const requested = (values.backend ?? ['memory']).flatMap((b) => b.split(',')).flatMap((b) => (b === 'all' ? ['kafka', 'redis', 'nats'] : [b]));
const print = (line: string): void => void process.stdout.write(`${line}\n`);
const rows: Array<{ backend: string; verdict: Verdict; seconds: number }> = [];
let failed = false;
for (const backend of requested) {
  if (!(backends as readonly string[]).includes(backend)) {
    process.stderr.write(`--backend must be one of ${backends.join(', ')}, all\n`);
    process.exit(2);
  }
  const options = parseChaosOptions({
    backend: backend as ChaosBackend,
    workflows: int(values.workflows),
    rounds: int(values.rounds),
    workers: int(values.workers),
    concurrency: int(values.concurrency),
    kills: int(values.kills),
    pauses: int(values.pauses),
    brokerRestarts: int(values['broker-restarts']),
    seed: int(values.seed),
    handlerMs: int(values['handler-ms']),
    poison: int(values.poison),
    long: int(values.long),
    longMs: int(values['long-ms']),
    pauseMs: int(values['pause-ms']),
    recoveryBoundMs: int(values['recovery-bound-ms']),
    auditSample: int(values['audit-sample']),
    timeoutMs: int(values['timeout-ms']),
    url: values.url,
    transportOptions: values['transport-options'] ? (JSON.parse(values['transport-options']) as Record<string, unknown>) : undefined,
    // One directory per backend: the verifier judges every journal it finds in one.
    dir: values.dir && requested.length > 1 ? join(values.dir, backend) : values.dir,
    port: int(values.port),
    logLevel: values['log-level'] as 'warn' | undefined,
  });
  process.env.CHAOS_LOG_LEVEL = options.logLevel;
  const logger = pino({ level: options.logLevel }, pino.destination(2));
  try {
    const { verdict, seconds } = await chaos(options, logger, print);
    rows.push({ backend, verdict, seconds });
    if (verdict.violations.length) failed = true;
  } catch (error) {
    failed = true;
    process.stderr.write(`chaos run on ${backend} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}
print('');
for (const line of renderSummary(rows)) print(line);
process.exit(failed ? 1 : 0);
