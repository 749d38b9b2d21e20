import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server with JetStream (file storage) that a test owns and may restart. */
export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  /** Stops the server and starts it again on its data; `whileDown` runs in between. */
  restart(whileDown?: () => void): Promise<void>;
  stop(): Promise<void>;
}

export const natsServerBinary = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * Starts `nats-server -js` on 127.0.0.1 at a free port from `firstPort` on, storing in a
 * fresh temporary directory, and resolves once it accepts connections.
 */
export async function startNatsServer(options: { firstPort?: number; startTimeoutMs?: number } = {}): Promise<NatsServerHandle> {
  // Test files run in parallel: start at a random port and move on if another one won the race.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort((options.firstPort ?? 4230) + Math.floor(Math.random() * 50));
    try {
      return await startOn(port, options.startTimeoutMs ?? 10_000);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

async function startOn(port: number, startTimeoutMs: number): Promise<NatsServerHandle> {
  const storeDir = await mkdtemp(join(tmpdir(), 'a2a-bus-nats-'));
  const serverName = `a2a-bus-test-${process.pid}-${port}-${Date.now()}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn(natsServerBinary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', serverName], { stdio: 'ignore' });
    child = proc;
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) await exited;
      // Another test's server may hold the port: only ours answers with our name.
      if ((await serverNameAt(port)) === serverName) return;
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

  try {
    await start();
  } catch (error) {
    await rm(storeDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async restart(whileDown?: () => void) {
      await halt();
      whileDown?.();
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

/** The `server_name` in the INFO line a NATS server greets clients with, if one answers. */
function serverNameAt(port: number, timeoutMs = 500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffered = '';
    const done = (name: string | undefined): void => {
      socket.destroy();
      resolve(name);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\r\n');
      if (end === -1) return;
      const line = buffered.slice(0, end);
      try {
        done(line.startsWith('INFO ') ? (JSON.parse(line.slice(5)) as { server_name?: string }).server_name : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}
