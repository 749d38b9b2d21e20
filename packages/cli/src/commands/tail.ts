import { randomUUID } from 'node:crypto';
import type { Delivery, ReplayRecord } from '@a2a-bus/core';
import type { Command } from 'commander';
import { connectionOf, positiveInt, withConnectionOptions, withTransport } from '../options.js';
import { streamingRow } from '../output.js';
import { parseFrom } from '../view/from-option.js';
import { summarizeRecord, type RecordSummary } from '../view/record-summary.js';

interface TailFlags extends Record<string, unknown> {
  from: string;
  partition: number;
  key?: string;
  follow: boolean;
  limit?: number;
}

const columns = [
  ['time', 24],
  ['partition', 4],
  ['offset', 16],
  ['key', 20],
  ['kind', 15],
  ['type', 16],
  ['taskId', 20],
  ['capability', 16],
  ['state', 14],
  ['attempt', 3],
  ['bytes', 6],
] as const;

/** `a2a-bus tail <topic>`: a topic's records, decoded, from a point on and/or as they arrive. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('tail')
      .description("a topic's records, decoded (undecodable ones with their error), from a point and/or as they arrive")
      .argument('<topic>', 'topic name, e.g. a2a.workflows or a2a.tasks.doc.extract')
      .option('--from <from>', 'beginning | latest | <partition>:<offset> | <offset> | <ISO time>', 'beginning')
      .option('--partition <n>', 'partition of a bare --from offset', (v) => Number(v), 0)
      .option('--key <key>', 'only records with this key (e.g. a workflow id)')
      .option('--limit <n>', 'stop after this many records', positiveInt('limit'))
      .option('-f, --follow', 'keep printing records as they arrive (Ctrl-C to stop)', false),
  ).action(async (topic: string, flags: TailFlags) => {
    const { json } = connectionOf(flags);
    const from = parseFrom(flags.from, flags.partition);
    let printed = 0;
    if (!json) process.stdout.write(`${streamingRow(Object.fromEntries(columns.map(([name]) => [name, name.toUpperCase()])), columns)}\n`);
    const print = (summary: RecordSummary, record: object): boolean => {
      if (flags.limit !== undefined && printed >= flags.limit) return false;
      printed += 1;
      const line = json
        ? JSON.stringify({ ...summary, record })
        : `${streamingRow(summary as unknown as Record<string, unknown>, columns)}${summary.error ? `  ✗ ${summary.error}` : ''}`;
      process.stdout.write(`${line}\n`);
      return true;
    };
    await withTransport(flags, async (transport) => {
      // Following: join a fresh group at the log's end before reading the past, so nothing
      // published in between is missed; records the replay already printed are skipped.
      const seen = new Set<string>();
      let stop: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      let past: () => void = () => {};
      const pastDone = new Promise<void>((resolve) => (past = resolve));
      const subscription = flags.follow
        ? await transport.subscribe(
            topic,
            async (delivery: Delivery) => {
              await pastDone;
              if (flags.key !== undefined && delivery.envelope.key !== flags.key) return;
              if (seen.has(`${delivery.partition}/${delivery.offset}`)) return;
              const record: ReplayRecord = {
                topic,
                partition: delivery.partition,
                offset: delivery.offset,
                timestamp: Date.now(),
                key: delivery.envelope.key,
                envelope: delivery.envelope,
              };
              print(summarizeRecord(record), delivery.envelope);
              if (flags.limit !== undefined && printed >= flags.limit) stop();
            },
            { group: `a2a-bus-tail-${randomUUID().slice(0, 8)}`, startFrom: 'latest', deadLetterTopic: false, maxInFlight: 16 },
          )
        : undefined;
      if (!('latest' in from)) {
        for await (const record of transport.replay(topic, { from, ...(flags.key !== undefined ? { key: flags.key } : {}) })) {
          seen.add(`${record.partition}/${record.offset}`);
          if (!print(summarizeRecord(record), record.envelope ?? { error: record.error?.message })) break;
        }
      }
      past();
      if (!subscription) return;
      if (flags.limit !== undefined && printed >= flags.limit) stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await stopped;
      await subscription.close({ drainTimeoutMs: 1_000 });
    });
  });
}
