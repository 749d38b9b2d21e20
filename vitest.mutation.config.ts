import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests Stryker runs against each mutant (scripts/mutation.sh): fast ones only — core's
// unit and property tests and the memory transport's — plus, for the runtime, the agent
// runtime suite over the memory transport. Broker-backed files never run here.
const runtime = process.env.MUTATION_SCOPE === 'runtime';
// A surviving mutant runs every property case: 100 per property (CI runs more) keeps a run short.
process.env.FC_RUNS ??= '100';

// Stryker's sandbox links node_modules from the repository, so `@a2a-bus/*` would resolve to the
// repository's (unmutated) sources: point the workspace packages at the sandbox's own.
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const alias = [
  { find: /^@a2a-bus\/core$/, replacement: here('./packages/core/src/index.ts') },
  { find: /^@a2a-bus\/core\/adapter$/, replacement: here('./packages/core/src/adapter.ts') },
  { find: /^@a2a-bus\/memory$/, replacement: here('./packages/memory/src/index.ts') },
];

const config = mergeConfig(base, defineConfig({ resolve: { alias }, test: { reporters: ['dot'], outputFile: {} } }));
// mergeConfig concatenates arrays: set the file list outright, or the broker-backed files would run too.
config.test!.include = ['packages/core/test/**/*.test.ts', 'packages/memory/test/**/*.test.ts', ...(runtime ? ['test/memory-runtime.test.ts'] : [])];
export default config;
