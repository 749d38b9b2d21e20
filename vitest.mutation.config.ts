import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests Stryker runs against each mutant (scripts/mutation.sh): fast ones only — core's
// unit and property tests and the memory transport's — plus, for the runtime, the agent
// runtime suite over the memory transport. Broker-backed files never run here.
const runtime = process.env.MUTATION_SCOPE === 'runtime';

export default mergeConfig(base, defineConfig({
  test: {
    include: ['packages/core/test/**/*.test.ts', 'packages/memory/test/**/*.test.ts', ...(runtime ? ['test/memory-runtime.test.ts'] : [])],
    reporters: ['dot'],
    outputFile: {},
  },
}));
