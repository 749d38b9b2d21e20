import { startConsole } from '@a2a-bus/console';
import { Option, type Command } from 'commander';
import { connectionOf, openTransport, stderrLogger, withConnectionOptions } from '../options.js';
import { untilSignal } from '../until-signal.js';

/** `a2a-bus console`: the web console (agents, workflow timelines, lag, dead letters, anomalies). */
export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('console')
      .description('serve the web console: live agents, workflow timelines, consumer lag, dead letters with redrive, anomalies live')
      .option('--host <address>', 'address to listen on; anything but loopback requires a token', '127.0.0.1')
      .option('--port <port>', 'port (0: any free one)', (value) => Number(value), 7070)
      .addOption(new Option('--token <token>', 'access token (default off loopback: a random one, printed)').env('A2A_BUS_CONSOLE_TOKEN'))
      .option('--agent-ttl <ms>', "match the buses' agentTtlMs: older heartbeats show as silent", (value) => Number(value), 15_000),
  ).action(async (flags: Record<string, unknown> & { host: string; port: number; token?: string; agentTtl: number }) => {
    const { namespace } = connectionOf(flags);
    const transport = await openTransport(flags);
    const running = await startConsole({
      transport,
      namespace,
      host: flags.host,
      port: flags.port,
      agentTtlMs: flags.agentTtl,
      logger: stderrLogger(flags.logLevel),
      ...(flags.token ? { token: flags.token } : {}),
    });
    process.stdout.write(`a2a-bus console for ${namespace} on ${transport.backend}: ${running.url}/${running.token ? `?token=${running.token}` : ''}\n`);
    await untilSignal();
    await running.close();
    await transport.close({ drainTimeoutMs: 1_000 });
  });
}
