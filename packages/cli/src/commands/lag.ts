import type { Command } from 'commander';
import { connectionOf, withConnectionOptions, withTransport } from '../options.js';
import { createOutput } from '../output.js';

/** `a2a-bus lag`: per group and partition, how far each consumer group is behind. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('lag')
      .description('consumer lag per group and partition: acknowledged position, end, lag, pending, redelivered, oldest unacked age')
      .option('--group <group>', 'only this group (as passed to subscribe, e.g. agents.doc.extract)')
      .option('--topic <topic>', 'only this topic (default: every topic of the namespace)')
      .option('--all-topics', 'every topic the backend has, not only the namespace', false),
  ).action(async (flags: Record<string, unknown> & { group?: string; topic?: string; allTopics: boolean }) => {
    const { namespace, json } = connectionOf(flags);
    const out = createOutput(json);
    const entries = await withTransport(flags, async (transport) => {
      if (!transport.inspectLag || transport.capabilities.lag.support === 'none') throw new Error(`${transport.backend} cannot report consumer lag`);
      return transport.inspectLag({
        ...(flags.group !== undefined ? { group: flags.group } : {}),
        ...(flags.topic !== undefined ? { topic: flags.topic } : {}),
      });
    });
    const inNamespace = entries.filter((entry) => flags.allTopics || flags.topic !== undefined || entry.topic.startsWith(`${namespace}.`));
    for (const entry of inNamespace) out.row({ ...entry });
    out.flush(['topic', 'group', 'partition', 'committed', 'end', 'lag', 'pending', 'redelivered', 'oldestUnackedAgeMs']);
    if (inNamespace.length === 0) out.note('no consumer groups found');
  });
}
