import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AdapterNotInstalledError } from './errors/adapter-not-installed-error.js';
import { InvalidOptionsError } from './errors/invalid-options-error.js';
import type { Transport } from './transport.js';

/**
 * What an adapter package exports for `createTransport`: build a transport from a config
 * object (with the URL, when one was given, under `url`).
 */
export interface AdapterModule {
  createTransportFromConfig(config: Record<string, unknown>): Transport;
}

const adapters = {
  memory: '@a2a-bus/memory',
  kafka: '@a2a-bus/kafka',
  'redis-streams': '@a2a-bus/redis-streams',
  nats: '@a2a-bus/nats',
} as const;

export type Backend = keyof typeof adapters;

const schemes: Record<string, Backend> = {
  'memory:': 'memory',
  'kafka:': 'kafka',
  'kafka+ssl:': 'kafka',
  'redis:': 'redis-streams',
  'rediss:': 'redis-streams',
  'nats:': 'nats',
  'tls:': 'nats',
};

export type TransportConfig = string | ({ backend: Backend; url?: string } & Record<string, unknown>);

/**
 * Builds the transport the configuration names, loading its adapter package on demand:
 * a URL (`memory://`, `kafka://host:9092,host2:9092`, `kafka+ssl://user:pass@host:9093`,
 * `redis://host:6379`, `rediss://user:pass@host:6380`, `nats://host:4222`, `tls://user:pass@host:4222`) or an options object with `backend`. The application code stays
 * the same whatever the backend.
 */
export async function createTransport(config: TransportConfig, overrides: Record<string, unknown> = {}): Promise<Transport> {
  const { backend, options } = resolveConfig(config);
  const packageName = adapters[backend];
  const module = await loadAdapter(backend, packageName);
  return module.createTransportFromConfig({ ...options, ...overrides });
}

/**
 * Adapters are optional peers of core: found next to core when installed as such, else
 * from the application's own dependencies (resolved from the working directory).
 */
async function loadAdapter(backend: Backend, packageName: string): Promise<AdapterModule> {
  try {
    return (await import(packageName)) as AdapterModule;
  } catch (cause) {
    if (!isModuleNotFound(cause, packageName)) throw cause;
    try {
      const fromApp = createRequire(join(process.cwd(), 'package.json')).resolve(packageName);
      return (await import(pathToFileURL(fromApp).href)) as AdapterModule;
    } catch {
      throw new AdapterNotInstalledError(backend, packageName, { cause });
    }
  }
}

export function resolveConfig(config: TransportConfig): { backend: Backend; options: Record<string, unknown> } {
  if (typeof config === 'string') {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(config)?.[0]?.toLowerCase();
    const backend = scheme ? schemes[scheme] : undefined;
    if (!backend) {
      throw new InvalidOptionsError('config', 'url', `unknown scheme in "${withoutCredentials(config)}"; use one of ${Object.keys(schemes).map((s) => `${s}//`).join(', ')}`);
    }
    return { backend, options: { url: config } };
  }
  if (!(config.backend in adapters)) {
    throw new InvalidOptionsError('config', 'backend', `"${String(config.backend)}" is not one of ${Object.keys(adapters).join(', ')}`);
  }
  const { backend, ...options } = config;
  return { backend, options };
}

/** A URL as it may be shown: `scheme://***@host`, never the user info. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(packageName);
}
