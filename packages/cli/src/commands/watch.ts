import { anomalySubject, watchBus, type BusWatcher } from '@a2a-bus/anomalies';
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
      .option(
        '--silent-after <ms>',
        "an agent holding work and silent this long is reported (match the buses' agentTtlMs)",
        positiveInt('silent-after'),
        15_000,
      )
      .option('--lag-interval <ms>', 'how often consumer lag is sampled', positiveInt('lag-interval'), 5_000)
      .option('--tick <ms>', 'time window of the throughput and silence checks', positiveInt('tick'), 1_000),
  ).action(async (flags: Record<string, unknown> & { silentAfter: number; lagInterval: number; tick: number }) => {
    const { namespace, json } = connectionOf(flags);
    const transport = await openTransport(flags);
    const inspectLag = transport.capabilities.lag.support !== 'none' ? transport.inspectLag?.bind(transport) : undefined;
    // Lag of the capabilities the watcher has seen, one query each: a shared cluster may hold many other groups.
    const lag = inspectLag
      ? async () =>
          (await Promise.all(watcher.detector.capabilities().map((c) => inspectLag({ topic: `${namespace}.tasks.${c}`, group: `agents.${c}` })))).flat()
      : undefined;
    const watcher: BusWatcher = await watchBus(transport, {
      namespace,
      silentAfterMs: flags.silentAfter,
      tickMs: flags.tick,
      lagIntervalMs: flags.lagInterval,
      logger: stderrLogger(flags.logLevel),
      ...(lag ? { lag } : {}),
      onAnomaly: (anomaly) =>
        process.stdout.write(
          json ? `${JSON.stringify(anomaly)}\n` : `${anomaly.at}  ${anomaly.kind.padEnd(19)}  ${anomalySubject(anomaly).padEnd(28)}  ${anomaly.message}\n`,
        ),
    });
    process.stderr.write(
      `watching ${namespace} on ${transport.backend} as ${watcher.detector.detectorId}${lag ? '' : ' (no lag: the transport cannot report it)'} (Ctrl-C to stop)\n`,
    );
    await untilSignal();
    await watcher.close();
    await transport.close({ drainTimeoutMs: 1_000 });
  });
}
