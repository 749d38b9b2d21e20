export { startConsole, type RunningConsole } from './server.js';
export type { ConsoleOptions } from './options.js';
export { buildTimeline, type Timeline, type TimelineTask, type Attempt } from './data/timeline.js';
export { readDeadLetters, redriveDeadLetter, deadLetterTopicsOf, type DeadLetterEntry, type RedriveOutcome } from './data/dead-letters.js';
