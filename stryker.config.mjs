// Mutation testing of the delivery core (scripts/mutation.sh; not in CI: too slow).
// No TypeScript checker: @stryker-mutator/typescript-checker drives the compiler's JavaScript
// API, which the native TypeScript 7 compiler used here does not have; mutants that would not
// type-check run anyway and count like any other.
const scope = process.env.MUTATION_SCOPE ?? 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['packages/core/src/consumer/**/*.ts', 'packages/core/src/envelope.ts', 'packages/core/src/runtime/**/*.ts'],
  // Stryker rewrites this tsconfig in its sandbox through the TypeScript API (absent in TS 7);
  // the sandbox is a full copy of the repository, so no rewrite is needed: point it at no file.
  tsconfigFile: 'tsconfig.stryker-none.json',
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 20_000,
  // The first run (every test, with coverage) is slow on a loaded machine.
  dryRunTimeoutMinutes: 20,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${scope}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${scope}/mutation.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 80, low: 70, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['reports', '.stryker-tmp', 'dist', '**/dist', 'examples'],
};
