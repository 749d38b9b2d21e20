import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isCI } from '../env.js';

const run = promisify(execFile);
const scripts = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/security');

/** A broker started by `scripts/security/<name>.sh` with TLS and users of its own, in a fresh state dir. */
export interface SecuredBrokerHandle {
  /** The state dir: certificates under `certs/`, the broker's config and logs. */
  readonly state: string;
  /** PEM of the CA that signed the broker's certificate. */
  readonly ca: string;
  /** What the script wrote to `credentials.env` (random passwords of this run). */
  readonly credentials: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startSecuredBroker(name: 'redis' | 'nats' | 'kafka', env: Record<string, string>, timeoutMs = 150_000): Promise<SecuredBrokerHandle> {
  const state = await mkdtemp(join(tmpdir(), `a2a-bus-${name}-secure-`));
  const script = join(scripts, `${name}.sh`);
  const fullEnv = { ...process.env, ...env, A2A_BUS_STATE: state };
  const command = (verb: 'start' | 'stop'): Promise<unknown> => run('bash', [script, verb], { env: fullEnv, timeout: timeoutMs });
  try {
    await command('start');
  } catch (error) {
    await command('stop').catch(() => undefined);
    await rm(state, { recursive: true, force: true });
    throw error;
  }
  const credentials = Object.fromEntries(
    (await readFile(join(state, 'credentials.env'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    state,
    ca: await readFile(join(state, 'certs/ca.pem'), 'utf8'),
    credentials,
    async stop() {
      await command('stop').catch(() => undefined);
      await rm(state, { recursive: true, force: true });
    },
  };
}

/** A pino-shaped logger that keeps every line it is given, to check what reaches the logs. */
export function capturingLogger(lines: string[] = []): { lines: string[]; logger: CapturingLogger } {
  const make = (bindings: Record<string, unknown>): CapturingLogger => {
    const write = (level: string) => (objOrMsg: unknown, msg?: string) => {
      lines.push(JSON.stringify({ level, ...bindings, obj: serialize(objOrMsg), msg }));
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
    };
  };
  return { lines, logger: make({}) };
}

export interface CapturingLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): CapturingLogger;
}

/** Errors with every own property, their cause chain and stack: what a log serializer could write. */
function serialize(value: unknown, depth = 0): unknown {
  if (depth > 6) return '…';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message, stack: value.stack };
    for (const key of Object.getOwnPropertyNames(value)) out[key] = serialize((value as unknown as Record<string, unknown>)[key], depth + 1);
    if (value.cause !== undefined) out.cause = serialize(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => serialize(item, depth + 1));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serialize(v, depth + 1)]));
  return value;
}

/** Everything an error says, its causes included, as one string to search for secrets. */
export function everythingIn(error: unknown): string {
  return JSON.stringify(serialize(error));
}

/**
 * A port free on 127.0.0.1 (and `count - 1` free ones after it) in [from, from + span),
 * starting at a random offset so test files running side by side rarely race for one.
 */
export async function freePorts(from: number, span = 100, count = 1): Promise<number> {
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i += 1) {
    const port = from + ((start + i) % span);
    let free = true;
    for (let k = 0; k < count && free; k += 1) free = await canListen(port + k);
    if (free) return port;
  }
  throw new Error(`no ${count} free port(s) in ${from}..${from + span + count - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Whether the programs a secured broker's script needs are installed. Off CI a missing one
 * skips the suite with the reason in its name; on CI it throws, so the run fails.
 */
export function requirePrograms(suite: string, programs: readonly string[]): string | undefined {
  const missing = programs.filter((program) => {
    try {
      execFileSync('bash', ['-c', `command -v ${program}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  const reason = `${suite} needs ${missing.join(', ')}`;
  if (isCI) throw new Error(`${reason}; on CI every broker-backed suite must run`);
  return reason;
}
