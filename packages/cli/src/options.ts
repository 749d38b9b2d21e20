import { createTransport, type Logger, type Transport } from '@a2a-bus/core';
import { type Command, Option } from 'commander';
import { pino } from 'pino';

/** The options every operator command takes, resolved from flags and the environment. */
export interface ConnectionOptions {
  readonly url: string;
  readonly namespace: string;
  readonly json: boolean;
}

/** Adds `--url` (or A2A_BUS_URL), `--namespace` and `--json` to an operator command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'kafka://host:9092, redis://host:6379, nats://host:4222 or memory://name').env('A2A_BUS_URL'))
    .addOption(new Option('--namespace <ns>', 'topic prefix the agent buses use').env('A2A_BUS_NAMESPACE').default('a2a'))
    .option('--json', 'one JSON object per line instead of a table', false)
    .option('--log-level <level>', 'library log level, to stderr', 'error');
}

/** Reads the connection options back from a command's parsed flags. */
export function connectionOf(flags: Record<string, unknown>): ConnectionOptions {
  const url = flags.url;
  if (typeof url !== 'string' || url === '') throw new Error('--url (or A2A_BUS_URL) is required, e.g. --url redis://127.0.0.1:6379');
  return { url, namespace: String(flags.namespace ?? 'a2a'), json: Boolean(flags.json) };
}

export function stderrLogger(level: unknown): Logger {
  return pino({ level: typeof level === 'string' ? level : 'error' }, pino.destination(2));
}

/** Opens a connected transport for one command; the caller closes it. */
export async function openTransport(flags: Record<string, unknown>): Promise<Transport> {
  const { url } = connectionOf(flags);
  const transport = await createTransport(url, { logger: stderrLogger(flags.logLevel) });
  await transport.connect();
  return transport;
}

/** Runs `body` with a connected transport and always closes it. */
export async function withTransport<T>(flags: Record<string, unknown>, body: (transport: Transport) => Promise<T>): Promise<T> {
  const transport = await openTransport(flags);
  try {
    return await body(transport);
  } finally {
    await transport.close({ drainTimeoutMs: 1_000 });
  }
}

export function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
    return n;
  };
}
