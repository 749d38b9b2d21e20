import type { DriverLine, Located, RunLine } from './journal.js';

/** One handler run, its begin and end lines paired (no end: the process died or never finished it). */
export interface Run {
  readonly worker: string;
  readonly pid: number;
  readonly wf: string;
  readonly round: number;
  readonly cap: string;
  readonly task: string;
  readonly attempt: number;
  readonly begin: number;
  readonly end: number | undefined;
  readonly outcome: RunLine['outcome'] | undefined;
  readonly aborted: boolean;
  readonly where: string;
}

/** Faults as the driver journaled them, per worker. */
export interface FaultTimeline {
  readonly kills: ReadonlyMap<string, number>;
  readonly pauses: ReadonlyMap<string, ReadonlyArray<{ at: number; until: number }>>;
  readonly restarts: ReadonlyArray<{ at: number; until: number }>;
  readonly spawns: ReadonlyArray<Extract<DriverLine, { ev: 'spawn' }>>;
}

export function pairRuns(lines: ReadonlyArray<Located<RunLine>>): Run[] {
  const open = new Map<string, Array<Located<RunLine>>>();
  const runs: Run[] = [];
  const keyOf = (l: RunLine): string => `${l.worker}|${l.task}|${l.attempt}`;
  for (const located of lines) {
    const { line } = located;
    const key = keyOf(line);
    if (line.ev === 'begin') {
      open.set(key, [...(open.get(key) ?? []), located]);
      continue;
    }
    const begun = open.get(key)?.shift();
    if (!begun) continue;
    runs.push(toRun(begun, located));
  }
  for (const pending of open.values()) for (const begun of pending) runs.push(toRun(begun, undefined));
  return runs.sort((a, b) => a.begin - b.begin);
}

function toRun(begin: Located<RunLine>, end: Located<RunLine> | undefined): Run {
  const b = begin.line;
  return {
    worker: b.worker,
    pid: b.pid,
    wf: b.wf,
    round: b.round,
    cap: b.cap,
    task: b.task,
    attempt: b.attempt,
    begin: b.at,
    end: end?.line.at,
    outcome: end?.line.outcome,
    aborted: end?.line.aborted ?? false,
    where: `${begin.file}:${begin.lineNo}${end ? `-${end.lineNo}` : ' (no end)'}`,
  };
}

export function faultTimeline(lines: ReadonlyArray<Located<DriverLine>>): FaultTimeline {
  const kills = new Map<string, number>();
  const pauses = new Map<string, Array<{ at: number; until: number }>>();
  const restarts: Array<{ at: number; until: number }> = [];
  const spawns: Array<Extract<DriverLine, { ev: 'spawn' }>> = [];
  for (const { line } of lines) {
    if (line.ev === 'kill') kills.set(line.worker, line.at);
    if (line.ev === 'pause') pauses.set(line.worker, [...(pauses.get(line.worker) ?? []), { at: line.at, until: line.until }]);
    if (line.ev === 'broker-restart') restarts.push({ at: line.at, until: line.until });
    if (line.ev === 'spawn') spawns.push(line);
  }
  return { kills, pauses, restarts, spawns };
}

/** When a run stopped: its end line, else its process's SIGKILL, else never (it is still open). */
export function effectiveEnd(run: Run, faults: FaultTimeline): number {
  return run.end ?? faults.kills.get(run.worker) ?? Number.POSITIVE_INFINITY;
}

/** Whether the run's process was stopped (SIGSTOP) at some point while the run was open. */
export function pausedDuring(run: Run, faults: FaultTimeline): boolean {
  const end = effectiveEnd(run, faults);
  return (faults.pauses.get(run.worker) ?? []).some((p) => p.at < end && p.until > run.begin);
}
