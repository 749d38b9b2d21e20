import { hostname, userInfo } from 'node:os';
import { redriveDeadLetter, type Transport } from '@a2a-bus/core';
import type { Command } from 'commander';
import { connectionOf, positiveInt, withConnectionOptions, withTransport } from '../options.js';
import { createOutput } from '../output.js';
import { deadLetterRow, deadLetterTopics, parseFilter, readDeadLetters, type DeadLetterEntry } from '../view/dead-letters.js';

type Flags = Record<string, unknown>;

/** `a2a-bus dlq ls|show|redrive`: inspect dead letters and send them back to their topics. */
export function register(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: list, show, redrive');

  withConnectionOptions(
    dlq
      .command('ls')
      .description("dead letters of a topic (default: every capability's dead-letter topic in the namespace)")
      .argument('[topic]', 'a dead-letter topic, e.g. a2a.tasks.doc.extract.dlq')
      .option('--filter <spec...>', 'capability=…, key=…, id=…, error~=… (all must match)')
      .option('--handled', 'also dead letters already redriven', false),
  ).action(async (topic: string | undefined, flags: Flags & { filter?: string[]; handled: boolean }) => {
    const { json } = connectionOf(flags);
    const out = createOutput(json);
    const entries = await withTransport(flags, (transport) => collect(transport, flags, topic));
    for (const entry of entries) if (flags.handled || !entry.handled) out.row(deadLetterRow(entry));
    out.flush(['id', 'key', 'capability', 'attempts', 'deadLetteredAt', 'handled', 'error']);
    if (!entries.some((entry) => flags.handled || !entry.handled)) out.note('no dead letters');
  });

  withConnectionOptions(
    dlq
      .command('show')
      .description('one dead letter in full: reason, error, attempts, the original envelope')
      .argument('<id>', 'the dead letter id (= the original envelope id)')
      .option('--topic <topic>', 'the dead-letter topic (default: search the namespace)'),
  ).action(async (id: string, flags: Flags & { topic?: string }) => {
    const { json } = connectionOf(flags);
    const entries = await withTransport(flags, (transport) => collect(transport, { ...flags, filter: [`id=${id}`] }, flags.topic));
    if (entries.length === 0) throw new Error(`no dead letter with id ${id}`);
    for (const entry of entries) {
      const shown = { ...deadLetterRow(entry), envelope: entry.envelope };
      process.stdout.write(json ? `${JSON.stringify(shown)}\n` : `${JSON.stringify(shown, null, 2)}\n`);
    }
  });

  withConnectionOptions(
    dlq
      .command('redrive')
      .description('republish dead letters to their topic (same id, attempt reset), then mark them handled')
      .argument('[topic]', 'a dead-letter topic (default: every one in the namespace)')
      .option('--filter <spec...>', 'capability=…, key=…, id=…, error~=… (all must match)')
      .option('--limit <n>', 'redrive at most this many', positiveInt('limit'))
      .option('--dry-run', 'list what would be redriven; change nothing', false)
      .option('--by <who>', 'recorded in the redriven envelope', `${userInfo().username}@${hostname()}`),
  ).action(async (topic: string | undefined, flags: Flags & { filter?: string[]; limit?: number; dryRun: boolean; by: string }) => {
    const { json } = connectionOf(flags);
    const out = createOutput(json);
    await withTransport(flags, async (transport) => {
      const chosen = (await collect(transport, flags, topic)).filter((entry) => !entry.handled).slice(0, flags.limit ?? Number.POSITIVE_INFINITY);
      const progress = !json && !flags.dryRun && chosen.length > 20 && process.stderr.isTTY ? progressBar(chosen.length) : undefined;
      for (const [i, entry] of chosen.entries()) {
        const outcome = await redriveDeadLetter(transport, String(flags.namespace), entry, { by: flags.by, dryRun: flags.dryRun });
        out.row({ ...deadLetterRow(entry), outcome });
        progress?.(i + 1);
      }
      out.flush(['id', 'key', 'capability', 'attempts', 'error', 'outcome']);
      out.note(`${flags.dryRun ? 'would redrive' : 'redriven'}: ${chosen.length}`);
    });
  });
}

async function collect(transport: Transport, flags: { filter?: string[]; namespace?: unknown }, topic: string | undefined): Promise<DeadLetterEntry[]> {
  const filters = (flags.filter ?? []).map(parseFilter);
  const topics = topic ? [topic] : await deadLetterTopics(transport, String(flags.namespace ?? 'a2a'));
  const entries: DeadLetterEntry[] = [];
  for (const deadLetterTopic of topics) entries.push(...(await readDeadLetters(transport, deadLetterTopic)));
  return entries.filter((entry) => filters.every((matches) => matches(entry)));
}

function progressBar(total: number): (done: number) => void {
  return (done) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
