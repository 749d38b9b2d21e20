import type { Logger } from '@a2a-bus/core';
import { runChaos } from './driver.js';
import type { ChaosOptions } from './options.js';
import { verifyRun, type Verdict } from './verify.js';

/** One run and its verdict: what `pnpm chaos` and the CI test both call. */
export async function chaos(options: ChaosOptions, logger: Logger, print: (line: string) => void): Promise<{ verdict: Verdict; seconds: number; dir: string }> {
  const outcome = await runChaos(options, logger, print);
  print(`  verifying ${outcome.dir}`);
  const verdict = verifyRun({ dir: outcome.dir, recoveryBoundMs: options.recoveryBoundMs, audits: outcome.audits });
  if (outcome.faultsDone < outcome.faultsPlanned) print(`  ! only ${outcome.faultsDone} of ${outcome.faultsPlanned} faults struck`);
  return { verdict, seconds: outcome.seconds, dir: outcome.dir };
}
