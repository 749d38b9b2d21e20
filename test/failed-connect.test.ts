import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A failed connect leaves nothing running: in a real process, against a listener that accepts
 * TCP and never answers (and against a closed port), `connect()` rejects with a typed error
 * naming the address and how long it actually waited, and after `close()` the process exits
 * by itself — no timer, socket or retry loop of a client keeps it alive.
 */
const connectTimeoutMs = 1_500;
/**
 * From `close()` to the process's exit. Redis and NATS exit at once; kafkajs's own retry loop
 * of the abandoned connect (5 retries, 100 ms doubling) runs out within about 4 s after close,
 * each retry failing at once on a closed transport. Before the fix: 30 s to minutes.
 */
const exitBoundMs = 7_000;
let silent: Server;
let silentPort = 0;
let closedPort = 0;
const sockets: Socket[] = [];

beforeAll(async () => {
  silent = createServer((socket) => void sockets.push(socket)); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve)); // nothing listens there any more
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

interface Outcome {
  readonly error?: { name: string; code: string; message: string; waitedMs: number };
  readonly failedAfterMs?: number;
  readonly closedAfterMs?: number;
  /** Milliseconds from `close()` resolving to the process's exit. */
  readonly exitAfterCloseMs: number;
  readonly exitCode: number | null;
}

async function connectInChild(url: string): Promise<Outcome> {
  const modules = Object.fromEntries(
    ['@a2a-bus/core', '@a2a-bus/kafka', '@a2a-bus/redis-streams', '@a2a-bus/nats'].map((name) => [name, import.meta.resolve(name)]),
  );
  const script = join(await mkdtemp(join(tmpdir(), 'a2a-failed-connect-')), 'connect.mts');
  await writeFile(
    script,
    `import { createTransport } from ${JSON.stringify(modules['@a2a-bus/core'])};
import { adapter as kafka } from ${JSON.stringify(modules['@a2a-bus/kafka'])};
import { adapter as redis } from ${JSON.stringify(modules['@a2a-bus/redis-streams'])};
import { adapter as nats } from ${JSON.stringify(modules['@a2a-bus/nats'])};
const say = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const started = Date.now();
const transport = await createTransport(${JSON.stringify(url)}, { adapters: [kafka, redis, nats], connectTimeoutMs: ${connectTimeoutMs} });
try {
  await transport.connect();
  say({ connected: true });
} catch (error) {
  say({ error: { name: error.name, code: error.code, message: error.message, waitedMs: error.waitedMs }, failedAfterMs: Date.now() - started });
}
await transport.close();
say({ closedAfterMs: Date.now() - started });
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let closedAt = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (!closedAt && out.includes('closedAfterMs')) closedAt = Date.now();
  });
  child.stderr.resume();
  // Bounded: a process still alive 20 s after its close is killed and reported as such.
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000 + connectTimeoutMs * 2);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(killer);
  const lines = out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Partial<Outcome>);
  return { ...Object.assign({}, ...lines), exitAfterCloseMs: closedAt ? Date.now() - closedAt : Number.POSITIVE_INFINITY, exitCode };
}

const backends = [
  { name: 'kafka', url: (port: number) => `kafka://127.0.0.1:${port}` },
  { name: 'redis', url: (port: number) => `redis://127.0.0.1:${port}` },
  { name: 'nats', url: (port: number) => `nats://127.0.0.1:${port}` },
];

describe('a failed connect leaves nothing running (real processes)', () => {
  for (const backend of backends) {
    it(`[${backend.name}] a listener that never answers: typed error after the timeout, the process exits promptly after close()`, async () => {
      const outcome = await connectInChild(backend.url(silentPort));
      expect(outcome.error?.code).toBe('BROKER_UNREACHABLE');
      expect(outcome.error?.message).toContain(`127.0.0.1:${silentPort}`);
      expect(outcome.error?.waitedMs).toBeGreaterThanOrEqual(connectTimeoutMs - 50);
      expect(outcome.failedAfterMs).toBeLessThan(connectTimeoutMs + 5_000);
      expect(outcome.closedAfterMs).toBeDefined();
      expect(outcome.exitCode).toBe(0);
      expect(outcome.exitAfterCloseMs).toBeLessThan(exitBoundMs);
    }, 40_000);

    it(`[${backend.name}] a closed port: the error says how long it actually waited, the process exits promptly after close()`, async () => {
      const outcome = await connectInChild(backend.url(closedPort));
      expect(outcome.error?.code).toBe('BROKER_UNREACHABLE');
      expect(outcome.error?.message).toContain(`127.0.0.1:${closedPort}`);
      // Refused at once or after the client's own retries: either way the message reports
      // the time it took, not the limit it did not reach.
      if (outcome.error!.waitedMs < connectTimeoutMs) expect(outcome.error?.message).toContain(`failed after ${outcome.error!.waitedMs} ms`);
      else expect(outcome.error?.message).toContain(`no answer within ${connectTimeoutMs} ms`);
      expect(outcome.exitCode).toBe(0);
      expect(outcome.exitAfterCloseMs).toBeLessThan(exitBoundMs);
    }, 40_000);
  }
});
