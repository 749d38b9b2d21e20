import { AgentBus } from '@a2a-bus/core';
import type { Command } from 'commander';
import { connectionOf, withConnectionOptions, withTransport } from '../options.js';
import { createOutput } from '../output.js';
import { buildTimeline } from '../view/timeline.js';

/** `a2a-bus workflow <id>`: the workflow's timeline from the audit trail. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('workflow')
      .description("a workflow's timeline from the audit trail: steps, instances, attempts, durations, states, artifacts, dead letters")
      .argument('<workflowId>', 'the workflow id (A2A contextId)'),
  ).action(async (workflowId: string, flags: Record<string, unknown>) => {
    const { namespace, json } = connectionOf(flags);
    // Only audit() is used: it replays; the bus joins no group and announces nothing.
    const entries = await withTransport(flags, (transport) => new AgentBus({ transport, namespace }).audit(workflowId));
    if (entries.length === 0) throw new Error(`no records for workflow ${workflowId} in namespace ${namespace}`);
    if (json) {
      for (const entry of entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
      return;
    }
    const out = createOutput(false);
    for (const step of buildTimeline(entries)) out.row({ ...step, sinceStartMs: `+${step.sinceStartMs}` });
    out.note(`workflow ${workflowId} (${entries.length} records)`);
    out.flush(['sinceStartMs', 'type', 'taskId', 'capability', 'instance', 'state', 'attempts', 'durationMs', 'detail']);
  });
}
