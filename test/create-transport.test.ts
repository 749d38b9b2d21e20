import { adapter as memoryAdapter } from '@a2a-bus/memory';
import { describe, expect, it } from 'vitest';
import { AdapterNotInstalledError, createTransport, InvalidOptionsError, registerTransportAdapter, type TransportAdapter } from '@a2a-bus/core';

/** A third-party adapter: another scheme, built on the memory transport, unknown to core. */
const loopAdapter: TransportAdapter = {
  backend: 'loop',
  schemes: ['loop'],
  create: (config) => {
    const { url, ...rest } = config;
    return { ...memoryAdapter.create({ ...rest, url: `memory://${String(url).slice('loop://'.length)}` }), backend: 'loop' };
  },
};

describe('createTransport', () => {
  it('loads a bundled adapter on demand from its URL scheme', async () => {
    const transport = await createTransport('memory://create-transport-test');
    expect(transport.backend).toBe('memory');
    await transport.close();
  });

  it('validates the adapter options at construction and names the field', async () => {
    const error = await createTransport({ backend: 'memory', partitions: 0 }).catch((e: unknown) => e);
    expect(InvalidOptionsError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionsError).field).toBe('partitions');
  });

  it('rejects an unknown option instead of dropping it, naming the key', async () => {
    const error = await createTransport('memory://typo', { partitons: 4 }).catch((e: unknown) => e);
    expect(InvalidOptionsError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionsError).field).toBe('partitons');
  });

  it('names the scheme when no adapter serves it', async () => {
    await expect(createTransport('amqp://x')).rejects.toThrow(/invalid option `url`: unknown scheme in "amqp:\/\/x"/);
    await expect(createTransport({ backend: 'rabbit' })).rejects.toThrow(InvalidOptionsError);
    await expect(createTransport('no-scheme')).rejects.toThrow(/has no scheme/);
  });

  it('takes a third-party adapter passed in, without touching core', async () => {
    const transport = await createTransport('loop://passed-in', { adapters: [loopAdapter] });
    expect(transport.backend).toBe('loop');
    await transport.close();
  });

  it('takes a registered third-party adapter by scheme and by backend name', async () => {
    registerTransportAdapter(loopAdapter);
    const byUrl = await createTransport('loop://registered');
    const byName = await createTransport({ backend: 'loop', partitions: 2 });
    expect([byUrl.backend, byName.backend]).toEqual(['loop', 'loop']);
    await Promise.all([byUrl.close(), byName.close()]);
  });

  it('refuses to register an adapter whose backend name is not a plain name', () => {
    expect(() => registerTransportAdapter({ ...loopAdapter, backend: 'Loop Adapter' })).toThrow(InvalidOptionsError);
  });

  it('names the package to install when a bundled adapter is missing', () => {
    const error = new AdapterNotInstalledError('kafka', '@a2a-bus/kafka');
    expect(error.message).toMatch(/install it \(pnpm add @a2a-bus\/kafka\)/);
    expect(error.packageName).toBe('@a2a-bus/kafka');
  });
});
