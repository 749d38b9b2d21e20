import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A `redis-server` of the test's own, persisting every write (AOF, fsync always), that can be restarted on its data. */
export interface RedisServerHandle {
  readonly port: number;
  readonly url: string;
  /** Shuts down (SIGTERM = SHUTDOWN, AOF flushed) and starts again on the same directory; `whileDown` runs in between. */
  restart(whileDown?: () => void): Promise<void>;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

/** Starts `redis-server` on a free loopback port from `firstPort` on. */
export async function startRedisServer(options: { firstPort?: number; binary?: string } = {}): Promise<RedisServerHandle> {
  const binary = options.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const port = await freePort(options.firstPort ?? 6390);
  const dir = await mkdtemp(join(tmpdir(), 'a2a-bus-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // Never outlive the test process, even when it dies without running afterAll.
    const killOnExit = (): void => void started.kill('SIGKILL');
    process.once('exit', killOnExit);
    started.once('exit', () => process.off('exit', killOnExit));
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child = started;
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${stderr}`))));
    const spawnError = new Promise<never>((_, reject) => started.once('error', reject));
    await Promise.race([waitForPong(port, READY_TIMEOUT_MS), exited, spawnError]);
  };

  const shutdown = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    const killed = setTimeout(() => running.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killed);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart(whileDown?: () => void) {
      await shutdown();
      whileDown?.();
      await launch();
    },
    async stop() {
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port += 1) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port from ${from} to ${from + 99}`);
}

/** Resolves once the server answers PING with PONG (not LOADING). */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on port ${port} not ready within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
