import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `@a2a-bus/source` export
// condition), so tests need no build; child processes the tests spawn get the same condition.
const sourceCondition = '--conditions=@a2a-bus/source';
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, sourceCondition].filter(Boolean).join(' ');

export default defineConfig({
  resolve: { conditions: ['@a2a-bus/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@a2a-bus/source', 'module', 'node', 'default'], externalConditions: ['@a2a-bus/source'] } },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Broker-backed files share brokers and CPU: run files one at a time, cases in order.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', 'junit'],
    outputFile: { junit: 'reports/junit.xml' },
  },
});
