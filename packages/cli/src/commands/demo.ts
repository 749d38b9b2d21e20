import { type Command, Option } from 'commander';
import { runPipeline } from '../demo/pipeline.js';
import { positiveInt, stderrLogger } from '../options.js';

const defaultUrls: Record<string, string> = {
  memory: 'memory://demo',
  kafka: `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`,
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};

interface DemoFlags {
  backend?: string;
  url?: string;
  workflows: number;
  workers: number;
  concurrency: number;
  killWorker: boolean;
  logLevel: string;
}

/** `a2a-bus demo`: the multi-agent pipeline (extract → summarize → classify) with a summary. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('the multi-agent pipeline (extract → summarize → classify), ending with a summary')
    .addOption(new Option('--backend <backend>', 'backend with its local default address (default memory, or A2A_BUS_URL)').choices(Object.keys(defaultUrls)))
    .option('--url <url>', 'e.g. kafka://127.0.0.1:19092')
    .option('--workflows <n>', 'workflows to run', positiveInt('workflows'), 200)
    .option('--workers <n>', 'worker processes per agent', positiveInt('workers'), 3)
    .option('--concurrency <n>', 'workflows in flight', positiveInt('concurrency'), 32)
    .option('--kill-worker', 'SIGKILL a summarize worker process mid-run (in-process on memory); nothing is lost', false)
    .option('--log-level <level>', 'library log level, to stderr', 'error')
    .action(async (flags: DemoFlags) => {
      process.exitCode = await demo(flags);
    });
}

async function demo(flags: DemoFlags): Promise<number> {
  const url = flags.url ?? (flags.backend ? defaultUrls[flags.backend]! : (process.env.A2A_BUS_URL ?? defaultUrls.memory!));
  const print = (line: string): void => void process.stdout.write(`${line}\n`);
  const summary = await runPipeline({
    url,
    workflows: flags.workflows,
    workers: flags.workers,
    concurrency: flags.concurrency,
    transientEvery: 20,
    poisonEvery: 100,
    killAt: flags.killWorker ? 0.3 : undefined,
    logger: stderrLogger(flags.logLevel),
    logLevel: flags.logLevel,
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
