import type { Command } from 'commander';
import { runBench } from '../bench/run.js';

/** `a2a-bus bench [backends…]`: raw clients beside a2a-bus on the same broker. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks, raw clients beside a2a-bus (run with node --expose-gc for memory figures)')
    .argument('[backends...]', 'memory kafka redis-streams nats idle (default: all)')
    .action(async (backends: string[]) => {
      process.exitCode = await runBench(backends, (line) => process.stdout.write(`${line}\n`));
    });
}
