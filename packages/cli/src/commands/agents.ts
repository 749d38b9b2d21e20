import type { Command } from 'commander';
import { connectionOf, positiveInt, withConnectionOptions, withTransport } from '../options.js';
import { createOutput } from '../output.js';
import { readAgents } from '../view/live-agents.js';

/** `a2a-bus agents`: live agents from the registry. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('agents')
      .description('agents from the registry: name, instance, capabilities, last heartbeat, in-flight tasks')
      .option('--ttl <ms>', "the agent buses' agentTtlMs: silent this long = gone", positiveInt('ttl'), 15_000)
      .option('--all', 'also agents that said goodbye or fell silent', false),
  ).action(async (flags: Record<string, unknown> & { ttl: number; all: boolean }) => {
    const { namespace, json } = connectionOf(flags);
    const out = createOutput(json);
    const agents = await withTransport(flags, (transport) => readAgents(transport, namespace, flags.ttl));
    for (const agent of agents) if (flags.all || agent.status === 'live') out.row({ ...agent });
    out.flush(['name', 'instance', 'capabilities', 'status', 'lastHeartbeat', 'ageMs', 'inFlight']);
    if (!agents.some((agent) => flags.all || agent.status === 'live')) out.note(`no live agents in namespace ${namespace}`);
  });
}
