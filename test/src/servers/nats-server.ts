import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reachable } from '../env.js';

/** A nats-server with JetStream (file storage) that a test owns and may restart. */
export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** Stops the server and starts it again on the same port and store directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const natsServerBinary = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * Starts `nats-server -js` on 127.0.0.1 at a free port from `firstPort` on, storing in a
 * fresh temporary directory, and resolves once it accepts connections.
 */
export async function startNatsServer(options: { firstPort?: number; startTimeoutMs?: number } = {}): Promise<NatsServerHandle> {
  const port = await freePort(options.firstPort ?? 4230);
  const storeDir = await mkdtemp(join(tmpdir(), 'a2a-bus-nats-'));
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(natsServerBinary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: 'ignore' });
    child = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) await exited;
      if (await reachable('127.0.0.1', port, 500)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`nats-server did not listen on 127.0.0.1:${port} within ${startTimeoutMs} ms`);
  };

  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port += 1) {
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${from}..${from + 99}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
