import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/kafka/broker.sh');

/** A Kafka broker of the test's own (scripts/kafka/broker.sh on free ports and its own data), restartable on its data. */
export interface KafkaBrokerHandle {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Stops the broker (TERM, clean shutdown) and starts it again on the same data; `whileDown` runs (and is awaited) in between. */
  restart(whileDown?: () => void | Promise<void>): Promise<void>;
  /** Stops the broker and deletes its data. */
  stop(): Promise<void>;
}

export async function startKafkaBroker(options: { firstPort?: number } = {}): Promise<KafkaBrokerHandle> {
  const port = await freePort(options.firstPort ?? 19_192);
  const controllerPort = await freePort(port + 1);
  const state = await mkdtemp(join(tmpdir(), 'a2a-bus-kafka-test-'));
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), A2A_BUS_STATE: state };
  const broker = (command: 'start' | 'stop'): Promise<unknown> => run('bash', [script, command], { env, timeout: 150_000 });
  await broker('start');
  return {
    address: `127.0.0.1:${port}`,
    async restart(whileDown) {
      await broker('stop');
      await whileDown?.();
      await broker('start');
    },
    async stop() {
      await broker('stop');
      await rm(state, { recursive: true, force: true });
    },
  };
}

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port += 1) {
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port from ${from} to ${from + 99}`);
}
