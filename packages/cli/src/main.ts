#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { runBench } from './bench/run.js';
import { loadCapabilities, renderCapabilityTable, withCapabilityTable } from './capability-table.js';
import { runPipeline } from './demo/pipeline.js';
import { runGateway } from './gateway.js';

const defaultUrls: Record<string, string> = {
  memory: 'memory://demo',
  kafka: `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`,
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};

const usage = `a2a-bus <command> [options]

  demo           the multi-agent pipeline (extract → summarize → classify)
    --backend memory|kafka|redis|nats   (default memory, or A2A_BUS_URL)
    --url <url>                         e.g. kafka://127.0.0.1:19092
    --workflows <n>  (default 200)   --workers <n> per agent (default 3)
    --concurrency <n> workflows in flight (default 32)
    --kill-worker    kill a summarize worker mid-run; nothing is lost
  bench [memory kafka redis-streams nats]   benchmarks, raw clients beside a2a-bus
  gateway        an A2A HTTP gateway (JSON-RPC + SSE, HTTP+JSON) in front of the demo agents
    --backend / --url as for demo    --port <n> (default 8080)   --host <h> (default 127.0.0.1)
  capabilities   the capability table (markdown)`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'capabilities') {
    const table = renderCapabilityTable(await loadCapabilities());
    if (!rest.includes('--write')) {
      process.stdout.write(`${table}\n`);
      return 0;
    }
    const readme = new URL('../../../README.md', import.meta.url);
    writeFileSync(readme, withCapabilityTable(readFileSync(readme, 'utf8'), table));
    process.stdout.write('README.md capability table updated\n');
    return 0;
  }
  if (command === 'bench') return runBench(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'gateway') return gateway(rest);
  if (command !== 'demo') {
    process.stderr.write(`${usage}\n`);
    return command === undefined || command === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      backend: { type: 'string' },
      url: { type: 'string' },
      workflows: { type: 'string', default: '200' },
      workers: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '32' },
      'kill-worker': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'error' },
    },
  });
  const backend = values.backend;
  if (backend !== undefined && !(backend in defaultUrls)) throw new Error(`--backend must be one of ${Object.keys(defaultUrls).join(', ')}`);
  const url = values.url ?? (backend ? defaultUrls[backend]! : (process.env.A2A_BUS_URL ?? defaultUrls.memory!));
  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const summary = await runPipeline({
    url,
    workflows: positive('workflows', values.workflows),
    workers: positive('workers', values.workers),
    concurrency: positive('concurrency', values.concurrency),
    transientEvery: 20,
    poisonEvery: 100,
    killAt: values['kill-worker'] ? 0.3 : undefined,
    logger,
    print,
  });
  const lost = summary.workflows - summary.completed - summary.failed;
  print('');
  print('── summary ─────────────────────────────────────────');
  print(
    `workflows completed     ${summary.completed}/${summary.workflows}  (${summary.failed} failed for good — every 100th document is poisoned on purpose — and ${lost} lost)`,
  );
  print(
    `step order verified     ${summary.orderVerified}/${summary.workflows} workflows${summary.orderViolations.length ? `  ✗ ${summary.orderViolations.slice(0, 3).join('; ')}` : ''}`,
  );
  print(`retries                 ${summary.retries}  (redeliveries ${summary.redeliveries})`);
  print(`dead letters            ${summary.deadLetters}`);
  print(`workflow latency        p50 ${summary.p50Ms.toFixed(1)} ms · p99 ${summary.p99Ms.toFixed(1)} ms`);
  print(`throughput              ${(summary.completed / summary.seconds).toFixed(0)} workflows/s over ${summary.seconds.toFixed(1)} s`);
  if (summary.killed) print(`killed mid-run          ${summary.killed} — its unacknowledged work finished elsewhere`);
  const ok = lost === 0 && summary.orderViolations.length === 0;
  print(ok ? 'result                  OK: nothing lost, every workflow in order' : 'result                  PROBLEM: see above');
  return ok ? 0 : 1;
}

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);

/** Runs the gateway until SIGINT / SIGTERM. */
async function gateway(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      backend: { type: 'string' },
      url: { type: 'string' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'log-level': { type: 'string', default: 'error' },
    },
  });
  const backend = values.backend;
  if (backend !== undefined && !(backend in defaultUrls)) throw new Error(`--backend must be one of ${Object.keys(defaultUrls).join(', ')}`);
  const url = values.url ?? (backend ? defaultUrls[backend]! : (process.env.A2A_BUS_URL ?? defaultUrls.memory!));
  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const stop = await runGateway({ url, port: Number(values.port), host: values.host, logger, print: (line) => void process.stdout.write(`${line}\n`) });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}
