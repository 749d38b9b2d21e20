import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchRow, BenchSuite } from './types.js';

/** Idle rows: CPU % of one core used by one idle process, a2a-bus beside each raw client. */
const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 20);

export const idleClients: readonly { backend: string; client: string; what: string; options?: Record<string, unknown> }[] = [
  { backend: 'memory', client: 'a2a-bus', what: 'AgentBus + 1 registered agent' },
  { backend: 'redis-streams', client: 'raw ioredis', what: 'XREADGROUP BLOCK 5000 loop on one stream' },
  { backend: 'redis-streams', client: 'a2a-bus', what: 'AgentBus + 1 registered agent' },
  { backend: 'nats', client: 'raw @nats-io/jetstream', what: 'one durable pull consumer, consume() defaults' },
  {
    backend: 'nats',
    client: 'a2a-bus',
    what: 'AgentBus + 1 registered agent (4 subscriptions × 8 partitions; the capability group pulls every 1 s to 2.5 s as its partitions stay idle and renews 8 leases every 1.7 s; the 3 ephemeral groups pull every 10 s, leases in memory)',
  },
  {
    backend: 'nats',
    client: 'a2a-bus (fetchExpiresMs 10000)',
    what: "the same, the capability group's pulls expire after 10 s too (a stalled member's open pull can take messages for that long)",
    options: { fetchExpiresMs: 10_000 },
  },
  { backend: 'kafka', client: 'raw kafkajs', what: 'one group consumer, consumer.run() on a 3-partition topic' },
  {
    backend: 'kafka',
    client: 'raw kafkajs (fixed timer)',
    what: "the same, with a2a-bus's fix of the RequestQueue's timers: its 1 ms re-arm and its 100 ms timeout scan (fixKafkajsIdleTimer)",
  },
  { backend: 'kafka', client: 'raw @platformatic/kafka', what: 'one group consumer, consume() stream on a 3-partition topic' },
  {
    backend: 'kafka',
    client: 'a2a-bus',
    what: 'AgentBus + 1 registered agent (4 consumer groups, fetch long-poll maxWaitTimeMs 500; kafkajs timers fixed by the transport)',
  },
  {
    backend: 'kafka',
    client: 'a2a-bus (maxWaitTimeMs 5000)',
    what: 'the same, fetch long-poll 5 s (kafkajs default)',
    options: { maxWaitTimeMs: 5_000 },
  },
];

const childPath = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './idle-child.ts' : './idle-child.js', import.meta.url));

function measure(backend: string, client: string, options: Record<string, unknown> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, childPath, backend, client, String(SECONDS), JSON.stringify(options)],
      { timeout: (SECONDS + 90) * 1_000 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve((JSON.parse(line) as { cpuPercent: number }).cpuPercent);
        } catch {
          reject(new Error(`idle ${backend} ${client}: ${error?.message ?? 'no result'} ${stderr.slice(-400)}`));
        }
      },
    );
  });
}

/** All rows at once, each its own OS process (CPU time is per process, so they do not disturb each other's figure much). */
export const suite: BenchSuite = async (progress) => {
  const only = process.env.BENCH_IDLE_BACKENDS?.split(',');
  const chosen = idleClients.filter((c) => !only || only.includes(c.backend));
  progress(`idle: ${chosen.length} processes, ${SECONDS} s each, in parallel (load average ${loadavg()[0]!.toFixed(1)})`);
  const results = await Promise.allSettled(chosen.map((c) => measure(c.backend, c.client, c.options)));
  const load = loadavg()[0]!.toFixed(1);
  return chosen.flatMap((c, i): BenchRow[] => {
    const result = results[i]!;
    if (result.status === 'rejected') {
      progress(String(result.reason));
      return [];
    }
    return [
      {
        backend: c.backend,
        client: c.client,
        kind: 'idle',
        scenario: `idle agent process, ${SECONDS} s`,
        messages: 0,
        seconds: SECONDS,
        msgsPerSec: Number.NaN,
        cpuPercent: result.value,
        note: `${c.what}; load average ${load} while measured`,
      },
    ];
  });
};
