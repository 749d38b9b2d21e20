import type fc from 'fast-check';

/**
 * fast-check settings shared by the property tests. A failure prints its seed and shrink path;
 * `FC_SEED=<seed> FC_PATH=<path>` replays exactly that counterexample, `FC_RUNS=<n>` runs more
 * (or fewer) cases than the CI default.
 */
export function propertyParams<T>(defaultRuns: number): fc.Parameters<T> {
  const seed = process.env.FC_SEED;
  const path = process.env.FC_PATH;
  const runs = process.env.FC_RUNS;
  return {
    numRuns: runs ? Number(runs) : defaultRuns,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
    // Every case drives a clock and promises: a hung case is a bug, not a slow run.
    interruptAfterTimeLimit: 60_000,
    markInterruptAsFailure: true,
  };
}
