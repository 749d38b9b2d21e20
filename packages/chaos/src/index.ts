export { runChaos, type RunOutcome } from './driver.js';
export { verifyRun, type Verdict, type Violation, type DuplicateCause } from './verify.js';
export { renderSummary } from './report.js';
export { parseChaosOptions, backends, type ChaosOptions, type ChaosOptionsInput, type ChaosBackend } from './options.js';
export { chaos } from './chaos.js';
