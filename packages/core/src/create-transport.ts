import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AdapterNotInstalledError } from './errors/adapter-not-installed-error.js';
import { InvalidOptionsError } from './errors/invalid-options-error.js';
import type { Transport } from './transport.js';

/**
 * What an adapter package exports (as `adapter`) so `createTransport` can build it from a
 * URL or a config object. A third-party adapter plugs in the same way as the bundled ones:
 * `registerTransportAdapter(rabbitmqAdapter)` once, or `createTransport(url, { adapters })`.
 */
export interface TransportAdapter {
  /** The name in `{ backend: … }` configs and in `Transport.backend`, e.g. `kafka`. */
  readonly backend: string;
  /** URL schemes it serves, without the colon, e.g. `['kafka', 'kafka+ssl']`. */
  readonly schemes: readonly string[];
  /** Builds a transport; `config.url` holds the URL when one was given. Validates options. */
  create(config: Record<string, unknown>): Transport;
}

export type TransportConfig = string | ({ backend: string; url?: string } & Record<string, unknown>);

/**
 * Transport options merged over those from the URL or config object (e.g. `logger`,
 * `instrumentation`), plus `adapters` to consider before the registered ones.
 */
export type CreateTransportOptions = { readonly adapters?: readonly TransportAdapter[] } & Record<string, unknown>;

/**
 * The bundled adapters, by the package that holds them: looked up on demand when nothing
 * registered their scheme, and named in the error when the package is not installed. Core
 * depends on none of them.
 */
const bundled: ReadonlyArray<{ backend: string; schemes: readonly string[]; packageName: string }> = [
  { backend: 'memory', schemes: ['memory'], packageName: '@a2a-bus/memory' },
  { backend: 'kafka', schemes: ['kafka', 'kafka+ssl'], packageName: '@a2a-bus/kafka' },
  { backend: 'redis-streams', schemes: ['redis', 'rediss'], packageName: '@a2a-bus/redis-streams' },
  { backend: 'nats', schemes: ['nats', 'tls'], packageName: '@a2a-bus/nats' },
];

const registered = new Map<string, TransportAdapter>();

/** Makes an adapter available to `createTransport` by its backend name and URL schemes. */
export function registerTransportAdapter(adapter: TransportAdapter): void {
  if (!/^[a-z][a-z0-9-]*$/.test(adapter.backend)) throw new InvalidOptionsError('adapter', 'backend', `"${adapter.backend}" is not a lower-case name`);
  registered.set(adapter.backend, adapter);
}

/** The adapters registered so far (bundled ones appear once they were loaded). */
export function registeredTransportAdapters(): readonly TransportAdapter[] {
  return [...registered.values()];
}

/**
 * Builds the transport the configuration names: a URL (`memory://`, `kafka://host:9092,host2:9092`,
 * `redis://host:6379`, `nats://host:4222`, or a scheme a registered adapter serves) or an
 * options object with `backend`. The application code stays the same whatever the backend.
 * Bundled adapters are loaded on demand; a missing one fails with `AdapterNotInstalledError`
 * naming the package to install.
 */
export async function createTransport(config: TransportConfig, options: CreateTransportOptions = {}): Promise<Transport> {
  const { backend, scheme, settings } = parseConfig(config);
  const { adapters = [], ...overrides } = options;
  const candidates = [...adapters, ...registered.values()];
  const match = (adapter: TransportAdapter): boolean => (scheme === undefined ? adapter.backend === backend : adapter.schemes.includes(scheme));
  let adapter = candidates.find(match);
  if (!adapter) {
    const known = bundled.find((entry) => (scheme === undefined ? entry.backend === backend : entry.schemes.includes(scheme)));
    if (!known) throw unknownConfig(config, candidates);
    adapter = await loadBundled(known.backend, known.packageName);
    registered.set(adapter.backend, adapter);
  }
  return adapter.create({ ...settings, ...overrides });
}

function parseConfig(config: TransportConfig): { backend?: string; scheme?: string; settings: Record<string, unknown> } {
  if (typeof config === 'string') {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(config)?.[1]?.toLowerCase();
    if (!scheme)
      throw new InvalidOptionsError('config', 'url', `"${withoutCredentials(config)}" has no scheme; expected e.g. memory://, kafka://, redis://, nats://`);
    return { scheme, settings: { url: config } };
  }
  if (typeof config !== 'object' || config === null || typeof config.backend !== 'string') {
    throw new InvalidOptionsError('config', 'backend', 'expected a URL string or an object with `backend`');
  }
  const { backend, ...settings } = config;
  return { backend, settings };
}

function unknownConfig(config: TransportConfig, candidates: readonly TransportAdapter[]): InvalidOptionsError {
  const schemes = new Set([...bundled.flatMap((entry) => entry.schemes), ...candidates.flatMap((adapter) => adapter.schemes)]);
  const backends = new Set([...bundled.map((entry) => entry.backend), ...candidates.map((adapter) => adapter.backend)]);
  if (typeof config === 'string') {
    return new InvalidOptionsError(
      'config',
      'url',
      `unknown scheme in "${withoutCredentials(config)}"; use one of ${[...schemes].map((s) => `${s}://`).join(', ')} or register an adapter`,
    );
  }
  return new InvalidOptionsError('config', 'backend', `"${config.backend}" is not one of ${[...backends].join(', ')}; register an adapter for it`);
}

/**
 * Imports a bundled adapter package: found next to core when installed side by side (npm),
 * else among the application's own dependencies — resolved from its main script, then from
 * the working directory — which is what pnpm's isolated layout needs.
 */
async function loadBundled(backend: string, packageName: string): Promise<TransportAdapter> {
  let module: { adapter?: TransportAdapter } | undefined;
  try {
    module = (await import(packageName)) as typeof module;
  } catch (cause) {
    if (!isModuleNotFound(cause, packageName)) throw cause;
    for (const base of applicationRoots()) {
      let resolved: string;
      try {
        resolved = createRequire(base).resolve(packageName);
      } catch {
        continue;
      }
      module = (await import(pathToFileURL(resolved).href)) as typeof module;
      break;
    }
    if (!module) throw new AdapterNotInstalledError(backend, packageName, { cause });
  }
  if (!module?.adapter) throw new AdapterNotInstalledError(backend, packageName, { cause: new Error(`${packageName} exports no \`adapter\``) });
  return module.adapter;
}

function applicationRoots(): string[] {
  const main = process.argv[1];
  return [...(main ? [main] : []), join(process.cwd(), 'package.json')];
}

function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(packageName);
}

/** A URL as it may be shown in a message: `scheme://***@host`, never the user info. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}
