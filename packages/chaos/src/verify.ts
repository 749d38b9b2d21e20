import type { AuditEntry } from '@a2a-bus/core';
import { readJournals, type DriverLine, type RunLine } from './journal.js';
import { steps } from './pipeline.js';
import { effectiveEnd, faultTimeline, pairRuns, pausedDuring, type FaultTimeline, type Run } from './runs.js';
import { checkAudits } from './verify-audit.js';

/** The shortest broker outage that fences running handlers with default settings (0.8 × the 5 s lease). */
const FENCING_OUTAGE_MS = 4_000;

export type DuplicateCause = 'retry' | 'crash' | 'pause' | 'rebalance' | 'broker-restart' | 'parent-rerun' | 'unexplained';

export interface Violation {
  /** Which invariant of the fault model (1-6). */
  readonly invariant: number;
  readonly workflow: string;
  readonly what: string;
  /** Journal lines (`worker-w3.jsonl:17-20`). */
  readonly lines: readonly string[];
}

export interface Verdict {
  readonly workflows: number;
  readonly rounds: number;
  readonly completed: number;
  readonly deadLettered: number;
  readonly deadLetterReasons: ReadonlyMap<string, number>;
  readonly lost: number;
  readonly orderViolations: number;
  readonly overlaps: number;
  /** Overlaps with a run of a process that slept through its lease: fenced duplicates, not violations. */
  readonly staleOverlaps: number;
  readonly duplicates: ReadonlyMap<DuplicateCause, number>;
  /** Per SIGKILL: time until the dead worker's last held run resumed elsewhere (ms). */
  readonly recoveries: readonly number[];
  /** Recoveries with another fault inside their window (not held to the bound). */
  readonly compoundRecoveries: number;
  readonly runs: number;
  readonly violations: readonly Violation[];
}

export interface VerifyOptions {
  readonly dir: string;
  readonly recoveryBoundMs: number;
  readonly audits: ReadonlyMap<string, AuditEntry[]>;
}

/** Checks invariants 1-6 of the fault model from the journals in `dir` (and `audit()` against them). */
export function verifyRun(options: VerifyOptions): Verdict {
  const runs = pairRuns(readJournals<RunLine>(options.dir, 'worker-'));
  const driverLines = readJournals<DriverLine>(options.dir, 'driver');
  const faults = faultTimeline(driverLines);
  const violations: Violation[] = [];
  const byTask = group(runs, (r) => `${r.cap}|${r.task}`);

  // 1. every dispatched round completed, or failed with a reason and a dead letter
  const dispatched = driverLines.flatMap(({ line }) => (line.ev === 'dispatch' ? [line] : []));
  const results = new Map(
    driverLines.flatMap(({ line, file, lineNo }) => (line.ev === 'result' ? [[line.task, { line, where: `${file}:${lineNo}` }] as const] : [])),
  );
  let completed = 0;
  let deadLettered = 0;
  let lost = 0;
  const deadLetterReasons = new Map<string, number>();
  for (const request of dispatched) {
    const result = results.get(request.task);
    const chain = steps.map((cap, i) => ({ cap, task: request.task + '/1'.repeat(i) }));
    if (result?.line.state === 'completed') {
      completed += 1;
      if (request.poison) violations.push({ invariant: 1, workflow: request.wf, what: `poison request ${request.task} completed`, lines: [result.where] });
      for (const step of chain) {
        if (!(byTask.get(`${step.cap}|${step.task}`) ?? []).some((r) => r.outcome === 'ok')) {
          violations.push({
            invariant: 1,
            workflow: request.wf,
            what: `${request.task} completed but ${step.cap} (${step.task}) has no successful run in any journal`,
            lines: [result.where],
          });
        }
      }
      continue;
    }
    // Invariant 1 allows "failed with a reason and a dead letter": the poison requests, and a
    // request whose holders were killed more than maxAttempts times (the crash-loop guard).
    const crashLoop = !request.poison && result?.line.state === 'failed' && /crash loop/.test(result.line.reason ?? '');
    if ((request.poison || crashLoop) && result && result.line.state === 'failed') {
      deadLettered += 1;
      const reason = result.line.reason ?? 'no reason';
      const short = reason.replace(/^.*?: /, '').slice(0, 60);
      deadLetterReasons.set(short, (deadLetterReasons.get(short) ?? 0) + 1);
      const audit = options.audits.get(request.wf);
      // The poison fails at the last step; a crash loop at whichever step its holders died in.
      const failedAt = request.poison ? [chain[chain.length - 1]!] : chain;
      if (audit && !audit.some((e) => e.type === 'dead-letter' && failedAt.some((step) => step.task === e.taskId))) {
        violations.push({
          invariant: 1,
          workflow: request.wf,
          what: `${request.task} failed (${reason}) but ${failedAt.map((step) => step.task).join(' / ')} has no dead letter`,
          lines: [result.where],
        });
      }
      continue;
    }
    lost += 1;
    violations.push({
      invariant: 1,
      workflow: request.wf,
      what: result ? `${request.task} ended ${result.line.state}: ${result.line.reason ?? ''}` : `${request.task} never ended`,
      lines: result ? [result.where, ...chain.flatMap((s) => (byTask.get(`${s.cap}|${s.task}`) ?? []).map((r) => r.where))] : [],
    });
  }

  // 2. per (capability, workflow): successful runs in publish (round) order, no two runs overlapping
  let orderViolations = 0;
  let overlaps = 0;
  let staleOverlaps = 0;
  for (const [, keyRuns] of group(runs, (r) => `${r.cap}|${r.wf}`)) {
    let highest: Run | undefined;
    const succeeded = new Set<string>();
    for (const run of keyRuns) {
      if (run.outcome !== 'ok') continue;
      // Only a task's first success counts for order; a later one is a duplicate (checked under 3).
      if (succeeded.has(run.task)) continue;
      succeeded.add(run.task);
      if (highest && run.round < highest.round && !pausedDuring(run, faults)) {
        orderViolations += 1;
        violations.push({
          invariant: 2,
          workflow: run.wf,
          what: `${run.cap}: round ${run.round} ran after round ${highest.round}`,
          lines: [highest.where, run.where],
        });
      }
      if (!highest || run.round > highest.round) highest = run;
    }
    for (let i = 0; i < keyRuns.length; i += 1) {
      const a = keyRuns[i]!;
      for (let j = i + 1; j < keyRuns.length && keyRuns[j]!.begin < effectiveEnd(a, faults); j += 1) {
        const b = keyRuns[j]!;
        if (pausedDuring(a, faults) || pausedDuring(b, faults)) {
          staleOverlaps += 1;
          continue;
        }
        overlaps += 1;
        violations.push({
          invariant: 2,
          workflow: a.wf,
          what: `${a.cap}: ${b.task} #${b.attempt} on ${b.worker} began while ${a.task} #${a.attempt} ran on ${a.worker}`,
          lines: [a.where, b.where],
        });
      }
    }
  }

  // 3. a handler runs again only as a redelivery (retry, crash, pause) — never unexplained
  const duplicates = new Map<DuplicateCause, number>();
  const causeOf = new Map<Run, DuplicateCause>();
  for (const [, taskRuns] of byTask) {
    for (let i = 1; i < taskRuns.length; i += 1) {
      const cause = duplicateCause(taskRuns[i - 1]!, taskRuns[i]!, faults, byTask, causeOf);
      causeOf.set(taskRuns[i]!, cause);
      duplicates.set(cause, (duplicates.get(cause) ?? 0) + 1);
      if (cause === 'unexplained') {
        const run = taskRuns[i]!;
        const woke = (faults.pauses.get(run.worker) ?? []).find((p) => p.until <= run.begin && run.begin - p.until < 15_000);
        const what = woke
          ? `${run.cap}: ${run.worker} ran ${run.task} again ${Math.round(run.begin - woke.until)} ms after waking from a pause, though another member had taken its work over (a member that lost its partition must stop at once)`
          : `${run.cap} ran ${run.task} again (attempt ${run.attempt}) with no crash, pause or failure before it`;
        violations.push({ invariant: 3, workflow: run.wf, what, lines: [taskRuns[i - 1]!.where, run.where] });
      }
    }
  }

  // 5. after each SIGKILL the dead worker's open runs resume elsewhere within the bound
  /** How long after a broker restart ends it still slows a takeover down (stream recovery). */
  const RESTART_AFTERMATH_MS = 5_000;
  const recoveries: number[] = [];
  let compoundRecoveries = 0;
  for (const [worker, killedAt] of faults.kills) {
    // Another fault inside the recovery window (a broker restart — or one that ended just
    // before: the broker still recovers its streams for seconds after it accepts connections —
    // the taker-over paused or killed) delays recovery by its own length: reported, not held
    // to the bound.
    const windowEnd = killedAt + options.recoveryBoundMs;
    const compound =
      faults.restarts.some((r) => r.at <= windowEnd && r.until + RESTART_AFTERMATH_MS >= killedAt) ||
      [...faults.pauses.values()].some((list) => list.some((p) => p.at >= killedAt && p.at <= windowEnd)) ||
      [...faults.kills].some(([other, at]) => other !== worker && at > killedAt && at <= windowEnd);
    const orphans = runs.filter((r) => r.worker === worker && r.end === undefined && r.begin <= killedAt);
    let worst: number | undefined;
    for (const orphan of orphans) {
      const resumed = (byTask.get(`${orphan.cap}|${orphan.task}`) ?? []).find((r) => r.worker !== worker && r.begin >= killedAt);
      if (!resumed) continue; // the workflow check above says whether it was lost
      const took = resumed.begin - killedAt;
      worst = Math.max(worst ?? 0, took);
      if (took > options.recoveryBoundMs && !compound) {
        violations.push({
          invariant: 5,
          workflow: orphan.wf,
          what: `${orphan.task} held by killed ${worker} resumed after ${(took / 1000).toFixed(1)} s (bound ${options.recoveryBoundMs / 1000} s)`,
          lines: [orphan.where, resumed.where],
        });
      }
    }
    if (worst !== undefined) recoveries.push(worst);
    if (worst !== undefined && compound) compoundRecoveries += 1;
  }

  // 6. a long handler that keeps running is never redelivered meanwhile
  for (const request of dispatched.filter((d) => d.long)) {
    const task = request.task + '/1'.repeat(steps.length - 1);
    const longRuns = byTask.get(`${steps[steps.length - 1]}|${task}`) ?? [];
    const first = longRuns[0];
    if (!first || faults.kills.has(first.worker) || pausedDuring(first, faults)) continue;
    // A broker outage past 0.8 of the session (Kafka, 6 s by default) or lease (Redis and NATS,
    // 5 s) fences running handlers: documented, so an abort inside such an outage is no violation.
    const fencedByOutage = faults.restarts.some((r) => r.until - r.at >= FENCING_OUTAGE_MS && r.at < effectiveEnd(first, faults) && r.until > first.begin);
    if (first.aborted && !fencedByOutage)
      violations.push({ invariant: 6, workflow: request.wf, what: `long handler ${task} was aborted while it ran`, lines: [first.where] });
    for (const again of longRuns.slice(1).filter((r) => r.begin < effectiveEnd(first, faults))) {
      violations.push({
        invariant: 6,
        workflow: request.wf,
        what: `long handler ${task} redelivered to ${again.worker} while it ran on ${first.worker}`,
        lines: [first.where, again.where],
      });
    }
  }

  // 4. audit() against the journals
  violations.push(...checkAudits(options.audits, runs, causeOf));

  return {
    workflows: new Set(dispatched.map((d) => d.wf)).size,
    rounds: dispatched.length,
    completed,
    deadLettered,
    deadLetterReasons,
    lost,
    orderViolations,
    overlaps,
    staleOverlaps,
    duplicates,
    recoveries,
    compoundRecoveries,
    runs: runs.length,
    violations,
  };
}

/** How long after a handler returns its ack may still be on its way (settlements are flushed per event-loop turn, Kafka commits every 200 ms). */
const ACK_WINDOW_MS = 1_000;

function duplicateCause(
  previous: Run,
  run: Run,
  faults: FaultTimeline,
  byTask: ReadonlyMap<string, Run[]>,
  causeOf: ReadonlyMap<Run, DuplicateCause>,
): DuplicateCause {
  const killedAt = faults.kills.get(previous.worker);
  // Died mid-run, or after the run but before its ack reached the broker.
  if (killedAt !== undefined && (previous.end === undefined || run.begin >= killedAt)) return 'crash';
  if (pausedDuring(previous, faults) || pausedDuring(run, faults)) return 'pause';
  // Stopped right after the run ended, before its ack left (acks go out a moment later, batched).
  const end = previous.end;
  if (end !== undefined && (faults.pauses.get(previous.worker) ?? []).some((p) => p.at >= end && p.at - end < ACK_WINDOW_MS && p.at < run.begin))
    return 'pause';
  if (previous.outcome === 'error' && previous.aborted) return 'rebalance';
  if (previous.outcome === 'error') return 'retry';
  const from = previous.begin;
  if (faults.restarts.some((r) => r.until + 10_000 > from && r.at < run.begin)) return 'broker-restart';
  // A parent re-run dispatches its child again under the same task id (a new request, attempt 1).
  const parentTask = run.task.slice(0, run.task.lastIndexOf('/'));
  const parentCap = steps[steps.indexOf(run.cap as (typeof steps)[number]) - 1];
  if (parentCap && run.task.includes('/')) {
    const parents = byTask.get(`${parentCap}|${parentTask}`) ?? [];
    if (parents.some((p, i) => i > 0 && p.begin < run.begin && causeOf.get(p) !== 'unexplained')) return 'parent-rerun';
  }
  return 'unexplained';
}

function group<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
