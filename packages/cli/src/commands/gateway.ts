import { type Command, Option } from 'commander';
import { runGateway } from '../gateway.js';
import { positiveInt, stderrLogger } from '../options.js';

const defaultUrls: Record<string, string> = {
  memory: 'memory://demo',
  kafka: `kafka://${process.env.KAFKA_BROKERS ?? '127.0.0.1:19092'}`,
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
};

interface GatewayFlags {
  backend?: string;
  url?: string;
  port: number;
  host: string;
  logLevel: string;
}

/** `a2a-bus gateway`: an A2A HTTP gateway (JSON-RPC + SSE, HTTP+JSON) in front of the demo agents, until interrupted. */
export function register(program: Command): void {
  program
    .command('gateway')
    .description('an A2A HTTP gateway (JSON-RPC + SSE, HTTP+JSON) in front of the demo agents, until Ctrl-C')
    .addOption(new Option('--backend <backend>', 'backend with its local default address (default memory, or A2A_BUS_URL)').choices(Object.keys(defaultUrls)))
    .option('--url <url>', 'e.g. kafka://127.0.0.1:19092')
    .option('--port <n>', 'HTTP port', positiveInt('port'), 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--log-level <level>', 'library log level, to stderr', 'error')
    .action(async (flags: GatewayFlags) => {
      const url = flags.url ?? (flags.backend ? defaultUrls[flags.backend]! : (process.env.A2A_BUS_URL ?? defaultUrls.memory!));
      const stop = await runGateway({
        url,
        port: flags.port,
        host: flags.host,
        logger: stderrLogger(flags.logLevel),
        print: (line) => void process.stdout.write(`${line}\n`),
      });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stop();
    });
}
