// `pnpm soak --backend redis-streams --minutes 5`: steady dispatch load while worker processes
// are restarted every few seconds (alternately SIGKILL and a graceful stop) and the caller's
// AgentBus is replaced now and then; one more worker runs in this process for the whole soak. Samples this process's RSS, heap and open handles and the
// namespace's broker objects every 10 s, then prints each series' slope per hour.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AgentBus, createTransport } from '@a2a-bus/core';
import { countKafka, countNats, countRedis, type ObjectCount } from './broker-objects.js';
import { startEchoWorker } from './echo-worker.js';
import { slopePerHour } from './slope.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'redis-streams' },
    minutes: { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
    'restart-every': { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '4' },
  },
});
const backend = values.backend!;
const urls: Record<string, string> = {
  memory: 'memory://soak',
  'redis-streams': process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  kafka: `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`,
};
const url = urls[backend];
if (!url || backend === 'memory') {
  console.error(`--backend must be one of kafka, redis-streams, nats (worker processes need a real broker)`);
  process.exit(2);
}
const minutes = Number(values.minutes);
const restartEveryMs = Number(values['restart-every']) * 1_000;
const namespace = `soak-${Math.random().toString(36).slice(2, 8)}`;

function countObjects(): Promise<ObjectCount> {
  if (backend === 'redis-streams') return countRedis(url!, 'a2a:', namespace);
  if (backend === 'nats') return countNats(url!, 'a2a', namespace);
  return countKafka(url!.replace(/^kafka:\/\//, '').split(','), namespace);
}

const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));
function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=@a2a-bus/source', '--import', 'tsx', workerScript, JSON.stringify({ url, namespace })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
}

const transport = await createTransport(url);
let caller = new AgentBus({ transport, namespace, agentTtlMs: 3_000 });
await caller.start();
// One worker lives as long as the soak, in this process: what its subscriptions keep per task
// shows in the heap sampled below (the worker processes are restarted before anything shows).
const resident = await startEchoWorker(transport, namespace);
const workers: ChildProcess[] = [];
for (let i = 0; i < Number(values.workers); i += 1) workers.push(await startWorker());

let running = true;
let completed = 0;
let failed = 0;
let restarts = 0;
const load = Array.from({ length: Number(values.concurrency) }, async (_, lane) => {
  for (let i = 0; running; i += 1) {
    try {
      await caller.dispatch('soak.echo', `lane ${lane} #${i}`, { workflowId: `soak-${lane}-${i % 64}`, timeoutMs: 30_000, whenNoAgent: 'enqueue' });
      completed += 1;
    } catch {
      failed += 1;
    }
  }
});

const restarter = setInterval(() => {
  void (async () => {
    const victim = workers.shift();
    if (!victim) return;
    victim.kill(restarts % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
    restarts += 1;
    workers.push(await startWorker().catch(() => startWorker()));
  })();
}, restartEveryMs);

// The caller side restarts too (in process): a new AgentBus every 30 s on the same transport.
const callerSwap = setInterval(() => {
  void (async () => {
    const next = new AgentBus({ transport, namespace, agentTtlMs: 3_000 });
    await next.start();
    const previous = caller;
    caller = next;
    // Dispatches still in flight on the old bus finish first (they take milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await previous.close();
  })();
}, 30_000);

const samples: Array<{ t: number; rss: number; heap: number; handles: number; objects: number; completed: number }> = [];
const started = Date.now();
const sample = async (): Promise<void> => {
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const objects = await countObjects().catch(() => ({ total: Number.NaN, detail: {} }));
  const entry = {
    t: Date.now() - started,
    rss: memory.rss / 1_048_576,
    heap: memory.heapUsed / 1_048_576,
    handles: process.getActiveResourcesInfo().length,
    objects: objects.total,
    completed,
  };
  samples.push(entry);
  console.log(
    `${(entry.t / 1000).toFixed(0).padStart(5)} s  rss ${entry.rss.toFixed(1)} MiB  heap ${entry.heap.toFixed(1)} MiB  handles ${entry.handles}  broker objects ${entry.objects} ${JSON.stringify(objects.detail)}  dispatched ${completed} (failed ${failed}, worker restarts ${restarts})`,
  );
};
console.log(
  `soak: ${backend}, ${minutes} min, ${values.workers} worker processes restarted every ${values['restart-every']} s and one worker in this process, namespace ${namespace}`,
);
while (Date.now() - started < minutes * 60_000) {
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  await sample();
}
running = false;
clearInterval(restarter);
clearInterval(callerSwap);
await Promise.race([Promise.all(load), new Promise((resolve) => setTimeout(resolve, 35_000))]);
for (const worker of workers) worker.kill('SIGKILL');
await resident.close();
await caller.close();
await transport.close();

// The first minute warms up (JIT, pools, topics being created): slopes from the rest.
const steady = samples.filter((s) => s.t >= 60_000);
const series = steady.length >= 2 ? steady : samples;
const t = series.map((s) => s.t);
console.log('');
console.log(`slopes per hour over ${(((series.at(-1)?.t ?? 0) - (series[0]?.t ?? 0)) / 60_000).toFixed(1)} min of samples (${series.length}):`);
console.log(
  `  rss            ${slopePerHour(
    t,
    series.map((s) => s.rss),
  ).toFixed(1)} MiB/h`,
);
console.log(
  `  heap           ${slopePerHour(
    t,
    series.map((s) => s.heap),
  ).toFixed(1)} MiB/h`,
);
console.log(
  `  open handles   ${slopePerHour(
    t,
    series.map((s) => s.handles),
  ).toFixed(1)} /h`,
);
console.log(
  `  broker objects ${slopePerHour(
    t,
    series.map((s) => s.objects),
  ).toFixed(1)} /h`,
);
console.log(`  dispatched     ${completed} in ${minutes} min (${(completed / (minutes * 60)).toFixed(1)}/s), failed ${failed}, worker restarts ${restarts}`);
process.exit(0);
