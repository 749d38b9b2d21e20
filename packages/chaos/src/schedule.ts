import { seededRandom } from './rng.js';
import type { ChaosOptions } from './options.js';

export type FaultKind = 'kill' | 'pause' | 'broker-restart';

/** One fault, due once this share of workflows has finished. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly atShare: number;
}

/** What a seed decides: which workflows are poison or long, when faults strike, and who they hit. */
export interface RunPlan {
  readonly faults: readonly PlannedFault[];
  readonly poison: ReadonlySet<number>;
  readonly long: ReadonlySet<number>;
  /** Picks a victim among `count` candidates. */
  pick(count: number): number;
}

export function planRun(
  options: Pick<ChaosOptions, 'seed' | 'workflows' | 'kills' | 'pauses' | 'brokerRestarts' | 'poison' | 'long'>,
  canPause: boolean,
  canRestart: boolean,
): RunPlan {
  const random = seededRandom(options.seed);
  const faults: PlannedFault[] = [];
  // Faults strike between 10% and 85% done, so every one of them hits a run in full flow.
  const add = (kind: FaultKind, count: number): void => {
    for (let i = 0; i < count; i += 1) faults.push({ kind, atShare: 0.1 + random() * 0.75 });
  };
  add('kill', options.kills);
  if (canPause) add('pause', options.pauses);
  if (canRestart) add('broker-restart', options.brokerRestarts);
  faults.sort((a, b) => a.atShare - b.atShare);
  const pickSet = (count: number, taken: Set<number>): Set<number> => {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(count, options.workflows - taken.size)) {
      const n = Math.floor(random() * options.workflows);
      if (!taken.has(n)) chosen.add(n);
    }
    return chosen;
  };
  // Long workflows start early so that their run spans the faults.
  const long = new Set<number>();
  for (let i = 0; i < Math.min(options.long, options.workflows); i += 1) long.add(Math.floor((random() * options.workflows) / 10));
  const poison = pickSet(options.poison, long);
  return { faults, poison, long, pick: (count) => Math.floor(random() * count) };
}
