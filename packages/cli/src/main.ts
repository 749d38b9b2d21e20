#!/usr/bin/env node
import { Command } from 'commander';
import * as agents from './commands/agents.js';
import * as anomalies from './commands/anomalies.js';
import * as bench from './commands/bench.js';
import * as capabilities from './commands/capabilities.js';
import * as consoleCommand from './commands/console.js';
import * as demo from './commands/demo.js';
import * as dlq from './commands/dlq.js';
import * as gateway from './commands/gateway.js';
import * as lag from './commands/lag.js';
import * as tail from './commands/tail.js';
import * as watch from './commands/watch.js';
import * as workflow from './commands/workflow.js';

/** The `a2a-bus` program: every command registers itself from `commands/<name>.ts`. */
export function buildProgram(): Command {
  const program = new Command('a2a-bus').description('operate a2a-bus: agents, topics, workflows, dead letters, lag').showHelpAfterError();
  for (const command of [agents, tail, workflow, dlq, lag, anomalies, watch, consoleCommand, demo, gateway, bench, capabilities]) command.register(program);
  return program;
}

if (import.meta.main) {
  // Output piped into `head` and the like: a closed pipe ends the command quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
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
