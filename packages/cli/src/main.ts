#!/usr/bin/env node
import { Command } from 'commander';
import * as bench from './commands/bench.js';
import * as capabilities from './commands/capabilities.js';
import * as demo from './commands/demo.js';

/** The `a2a-bus` program: every command registers itself from `commands/<name>.ts`. */
export function buildProgram(): Command {
  const program = new Command('a2a-bus').description('operate a2a-bus: agents, topics, workflows, dead letters, lag').showHelpAfterError();
  for (const command of [demo, bench, capabilities]) command.register(program);
  return program;
}

if (import.meta.main) {
  buildProgram()
    .parseAsync()
    .then(
      () => process.exit(process.exitCode ?? 0),
      (error: unknown) => {
        process.stderr.write(`a2a-bus: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
}
