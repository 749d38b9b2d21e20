import { anomalySubject, watchBus } from '@a2a-bus/anomalies';
import type { Command } from 'commander';
import { connectionOf, openTransport, positiveInt, stderrLogger, withConnectionOptions } from '../options.js';
import { untilSignal } from '../until-signal.js';

/**
 * `a2a-bus watch`: an independent observer. Reads the workflow log, the registry and the
 * consumer lag of the namespace, runs every detector over all agents' traffic, and writes
 * what it finds to `<namespace>.anomalies` (and to stdout).
 */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('watch')
      .description('run the anomaly detectors as a standalone observer of the namespace; anomalies go to <namespace>.anomalies and stdout')
      .option('--silent-after <ms>', "an agent holding work and silent this long is reported (match the buses' agentTtlMs)", positiveInt('silent-after'), 15_000)
      .option('--lag-interval <ms>', 'how often consumer lag is sampled', positiveInt('lag-interval'), 5_000)
      .option('--tick <ms>', 'time window of the throughput and silence checks', positiveInt('tick'), 1_000),
  ).action(async (flags: Record<string, unknown> & { silentAfter: number; lagInterval: number; tick: number }) => {
    const { namespace, json } = connectionOf(flags);
    const transport = await openTransport(flags);
    const taskTopics = `${namespace}.tasks.`;
    const lag = transport.inspectLag && transport.capabilities.lag.support !== 'none'
      ? async () => (await transport.inspectLag!()).filter((entry) => entry.topic.startsWith(taskTopics) && !entry.topic.endsWith('.dlq'))
      : undefined;
    const watcher = await watchBus(transport, {
      namespace,
      silentAfterMs: flags.silentAfter,
      tickMs: flags.tick,
      lagIntervalMs: flags.lagInterval,
      logger: stderrLogger(flags.logLevel),
      ...(lag ? { lag } : {}),
      onAnomaly: (anomaly) => process.stdout.write(json ? `${JSON.stringify(anomaly)}\n` : `${anomaly.at}  ${anomaly.kind.padEnd(19)}  ${anomalySubject(anomaly).padEnd(28)}  ${anomaly.message}\n`),
    });
    process.stderr.write(`watching ${namespace} on ${transport.backend} as ${watcher.detector.detectorId}${lag ? '' : ' (no lag: the transport cannot report it)'} (Ctrl-C to stop)\n`);
    await untilSignal();
    await watcher.close();
    await transport.close({ drainTimeoutMs: 1_000 });
  });
}
