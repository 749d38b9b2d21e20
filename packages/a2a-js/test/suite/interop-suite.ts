import { describe, afterAll, beforeAll } from 'vitest';
import { executorCases } from './executor-cases.js';
import { gatewayCases } from './gateway-cases.js';
import { operationCases } from './operation-cases.js';
import { remoteCases } from './remote-cases.js';
import { InteropWorld, type InteropSuiteOptions } from './setup.js';

export type { InteropSuiteOptions } from './setup.js';

/**
 * `@a2a-js/sdk` interop on one backend: the SDK client over the bus binding, an SDK
 * AgentExecutor as a bus worker, the HTTP gateway (two instances) with the SDK client over
 * JSON-RPC and HTTP+JSON, and bus dispatches reaching a remote SDK HTTP server.
 */
export function a2aInteropSuite(options: InteropSuiteOptions): void {
  describe(`[${options.name}] a2a-js interop`, () => {
    const m = options.timeoutMultiplier ?? 1;
    let world: InteropWorld;
    beforeAll(async () => {
      world = new InteropWorld(options);
      await world.start();
    }, 120_000);
    afterAll(async () => world.close(), 60_000);
    const get = (): InteropWorld => world;

    describe('SDK client over the bus binding', () => {
      operationCases(get, m, 'bus', { sender: (skill) => world.busClient(skill), reader: (skill) => world.busClient(skill) });
    });
    describe('HTTP gateway, JSON-RPC, two instances', () => {
      operationCases(get, m, 'json-rpc', { sender: () => world.httpClient(0), reader: () => world.httpClient(1) });
    });
    describe('HTTP gateway, HTTP+JSON, two instances', () => {
      operationCases(get, m, 'rest', { sender: () => world.httpClient(1, 'HTTP+JSON'), reader: () => world.httpClient(0, 'HTTP+JSON') });
    });
    describe('HTTP gateway', () => gatewayCases(get, m));
    describe('SDK AgentExecutor as a bus worker', () => executorCases(get, m));
    describe('remote SDK HTTP agent as a bus agent', () => remoteCases(get, m));
  });
}
