import type { Command } from 'commander';
import { runBench } from '../bench/run.js';

/** `a2a-bus bench [backends…]`: raw clients beside a2a-bus on the same broker. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks, raw clients beside a2a-bus (run with node --expose-gc for memory figures)')
    .argument('[backends...]', 'memory kafka redis-streams nats idle (default: all)')
    .option(
      '--scaling',
      'throughput and p99 vs worker processes, partitions, payload, keys and in-flight limit (one backend, default redis-streams); writes reports/scaling-<backend>.{md,json,png}',
    )
    .action(async (backends: string[], options: { scaling?: boolean }) => {
      const print = (line: string): void => void process.stdout.write(`${line}\n`);
      if (options.scaling) {
        const { runScaling } = await import('../bench/scaling.js');
        process.exitCode = await runScaling(backends[0] ?? 'redis-streams', print);
        return;
      }
      process.exitCode = await runBench(backends, print);
    });
}
