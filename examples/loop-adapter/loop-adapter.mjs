// A third-party adapter, as someone outside this repository would write one: a new URL
// scheme (`loop://<name>`) served by a transport it builds. This one delegates to the memory
// transport under another name, which is enough to show the plug-in points: core is not
// touched, and the published conformance suite decides whether the adapter keeps the contract.
import { createTransport, registerTransportAdapter } from '@a2a-bus/core';
import { adapter as memoryAdapter, memoryCapabilities } from '@a2a-bus/memory';

export const loopCapabilities = memoryCapabilities;

export function createLoopTransport(options = {}) {
  const { url, ...rest } = options;
  const name = typeof url === 'string' ? url.replace(/^loop:\/\//, '') : undefined;
  const inner = memoryAdapter.create({ ...rest, ...(name ? { url: `memory://loop-${name}` } : {}) });
  return { ...inner, backend: 'loop' };
}

/** @type {import('@a2a-bus/core').TransportAdapter} */
export const adapter = { backend: 'loop', schemes: ['loop'], create: (config) => createLoopTransport(config) };

registerTransportAdapter(adapter);
export { createTransport };
