import { anomalySubject, followAnomalies, readAnomalies, type Anomaly } from '@a2a-bus/anomalies';
import type { Command } from 'commander';
import { connectionOf, openTransport, positiveInt, withConnectionOptions } from '../options.js';
import { createOutput, streamingRow } from '../output.js';
import { untilSignal } from '../until-signal.js';

const columns = [
  ['at', 24],
  ['kind', 19],
  ['subject', 28],
  ['observed', 10],
  ['baseline', 10],
  ['message', 0],
] as const;

function row(anomaly: Anomaly): Record<string, unknown> {
  return { ...anomaly, subject: anomalySubject(anomaly), observed: Number(anomaly.observed.toPrecision(4)), baseline: Number(anomaly.baseline.toPrecision(4)) };
}

/** `a2a-bus anomalies [--follow]`: what the detectors found, from `<namespace>.anomalies`. */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('anomalies')
      .description('anomalies the detectors raised (in any process, or `a2a-bus watch`), oldest first; --follow for new ones as they come')
      .option('--since <minutes>', 'only the last N minutes', positiveInt('since'), 60)
      .option('--limit <n>', 'at most the newest N', positiveInt('limit'))
      .option('--follow', 'keep printing new anomalies until interrupted', false),
  ).action(async (flags: Record<string, unknown> & { since: number; limit?: number; follow: boolean }) => {
    const { namespace, json } = connectionOf(flags);
    const out = createOutput(json);
    const transport = await openTransport(flags);
    try {
      const print = (anomaly: Anomaly): void => {
        if (json) out.row(anomaly as unknown as Record<string, unknown>);
        else process.stdout.write(`${streamingRow(row(anomaly), columns)}\n`);
      };
      // Follow first, then read the past: nothing written in between is missed (a repeat is skipped by id).
      const printed = new Set<string>();
      const once = (anomaly: Anomaly): void => {
        if (printed.has(anomaly.id)) return;
        printed.add(anomaly.id);
        if (printed.size > 10_000) printed.delete(printed.values().next().value!);
        print(anomaly);
      };
      const buffered: Anomaly[] = [];
      let live = false;
      const following = flags.follow ? await followAnomalies(transport, namespace, (a) => (live ? once(a) : buffered.push(a))) : undefined;
      const past = await readAnomalies(transport, namespace, { since: Date.now() - flags.since * 60_000, ...(flags.limit ? { limit: flags.limit } : {}) });
      if (!json) process.stdout.write(`${streamingRow(Object.fromEntries(columns.map(([name]) => [name, name.toUpperCase()])), columns)}\n`);
      for (const anomaly of past) once(anomaly);
      if (!following) {
        if (!past.length) out.note('no anomalies');
        return;
      }
      live = true;
      for (const anomaly of buffered.splice(0)) once(anomaly);
      process.stderr.write(`following ${namespace}.anomalies (Ctrl-C to stop)\n`);
      await untilSignal();
      await following.close();
    } finally {
      await transport.close({ drainTimeoutMs: 1_000 });
    }
  });
}
