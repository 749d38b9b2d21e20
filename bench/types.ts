// Temporary: the bench harness lives in packages/cli/src/bench.
export * from '../packages/cli/src/bench/types.js';
