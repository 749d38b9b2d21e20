import { describe } from 'vitest';
import { createContext } from './conformance/context.js';
import { flowCases } from './conformance/flow.js';
import { groupCases } from './conformance/groups.js';
import { lagCases } from './conformance/lag.js';
import { lifecycleCases } from './conformance/lifecycle.js';
import { limitCases } from './conformance/limits.js';
import { ephemeralCases } from './conformance/ephemeral.js';
import type { ConformanceOptions } from './conformance/options.js';
import { orderingCases } from './conformance/ordering.js';
import { publishCases } from './conformance/publish.js';
import { replayCases } from './conformance/replay.js';
import { retryCases } from './conformance/retries.js';

export type { ConformanceOptions, TransportOverrides } from './conformance/options.js';
export { createContext, type SuiteContext } from './conformance/context.js';
export { publishCases, retryCases, groupCases, orderingCases, lifecycleCases, replayCases, flowCases, limitCases, lagCases, ephemeralCases };
export { isCI, reachable, requireBroker, skippedSuite } from './env.js';

/**
 * The transport conformance suite: registers every case with vitest for one backend.
 * Each named group is exported too, to run one alone while working on an adapter.
 */
export function transportConformanceSuite(options: ConformanceOptions): void {
  describe(`[${options.name}] transport conformance`, () => {
    const ctx = createContext(options, options.capabilities);
    describe('publish', () => publishCases(ctx));
    describe('settlement', () => retryCases(ctx));
    describe('groups', () => groupCases(ctx));
    describe('ordering', () => orderingCases(ctx));
    describe('lifecycle', () => lifecycleCases(ctx));
    describe('replay', () => replayCases(ctx));
    describe('flow control', () => flowCases(ctx));
    describe('limits', () => limitCases(ctx));
    describe('ephemeral', () => ephemeralCases(ctx));
    describe('lag', () => lagCases(ctx));
  });
}
export { agentRuntimeSuite, type AgentSuiteOptions } from './runtime/agent-suite.js';
