import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '@a2a-bus/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverLine, RunLine } from '../src/journal.js';
import { verifyRun } from '../src/verify.js';

// The verifier on hand-written journals: what invariant 1 accepts as "failed with a reason
// and a dead letter", and what it counts as lost.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const T = 1_800_000_000_000;
const chain = (task: string) => [
  { cap: 'chaos.step1', task },
  { cap: 'chaos.step2', task: `${task}/1` },
  { cap: 'chaos.step3', task: `${task}/1/1` },
];

function journals(driver: DriverLine[], worker: RunLine[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-verify-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'driver.jsonl'), driver.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'worker-w1.jsonl'), worker.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

/** A workflow of one round: dispatched at `at`, its steps run on w1 (ok unless `fail` names one). */
function workflow(wf: string, at: number, state: string, reason?: string, options: { poison?: boolean; endless?: string } = {}) {
  const task = `${wf}:r1`;
  const driver: DriverLine[] = [
    { ev: 'dispatch', wf, round: 1, task, poison: options.poison ?? false, long: false, at },
    { ev: 'result', wf, round: 1, task, state, ...(reason ? { reason } : {}), at: at + 100 },
  ];
  const worker: RunLine[] = chain(task).flatMap(({ cap, task: t }, i) => {
    const begin: RunLine = { ev: 'begin', worker: 'w1', pid: 1, wf, round: 1, cap, task: t, attempt: 1, at: at + 1 + i };
    if (options.endless === cap) return [begin];
    return [begin, { ...begin, ev: 'end', at: at + 50 - i, outcome: 'ok', aborted: false }];
  });
  return { driver, worker };
}

const deadLetter = (wf: string, taskId: string): AuditEntry => ({ type: 'dead-letter', taskId, workflowId: wf }) as unknown as AuditEntry;

describe('verifyRun: invariant 1', () => {
  it('a request failed as a crash loop, with its dead letter on the audit trail, is dead-lettered, not lost', () => {
    const ok = workflow('wf-0', T, 'completed');
    const loop = workflow('wf-1', T + 1_000, 'failed', 'task wf-1:r1 ended failed: chaos.step2 failed: crash loop: delivered 4 times and never answered', {
      endless: 'chaos.step2',
    });
    const dir = journals([...ok.driver, ...loop.driver], [...ok.worker, ...loop.worker]);
    const verdict = verifyRun({ dir, recoveryBoundMs: 10_000, audits: new Map([['wf-1', [deadLetter('wf-1', 'wf-1:r1/1')]]]) });
    expect(verdict.completed).toBe(1);
    expect(verdict.deadLettered).toBe(1);
    expect(verdict.lost).toBe(0);
    expect(verdict.violations.filter((v) => v.invariant === 1)).toEqual([]);
  });

  it('a crash loop without its dead letter on the audit trail is a violation; any other failure is lost', () => {
    const loop = workflow('wf-1', T, 'failed', 'crash loop: delivered 4 times and never answered', { endless: 'chaos.step2' });
    const other = workflow('wf-2', T + 1_000, 'failed', 'no live agent serves chaos.step2');
    const dir = journals([...loop.driver, ...other.driver], [...loop.worker, ...other.worker]);
    const verdict = verifyRun({ dir, recoveryBoundMs: 10_000, audits: new Map([['wf-1', [deadLetter('wf-1', 'wf-9:r1')]]]) });
    expect(verdict.lost).toBe(1);
    expect(verdict.violations.filter((v) => v.invariant === 1).map((v) => [v.workflow, v.what])).toEqual([
      ['wf-1', expect.stringMatching(/^wf-1:r1 failed \(crash loop.*\) but wf-1:r1 \/ wf-1:r1\/1 \/ wf-1:r1\/1\/1 has no dead letter$/)],
      ['wf-2', 'wf-2:r1 ended failed: no live agent serves chaos.step2'],
    ]);
  });
});

describe('verifyRun: invariant 3', () => {
  const rerun = (pauseAfterEndMs: number) => {
    const wf = 'wf-0';
    const task = `${wf}:r1`;
    const driver: DriverLine[] = [
      { ev: 'dispatch', wf, round: 1, task, poison: false, long: false, at: T },
      { ev: 'result', wf, round: 1, task, state: 'completed', at: T + 10_000 },
      { ev: 'pause', worker: 'w1', pid: 1, at: T + 100 + pauseAfterEndMs, until: T + 8_100 + pauseAfterEndMs },
    ];
    const run = (worker: string, attempt: number, begin: number, end: number): RunLine[] => [
      { ev: 'begin', worker, pid: worker === 'w1' ? 1 : 2, wf, round: 1, cap: 'chaos.step1', task, attempt, at: begin },
      { ev: 'end', worker, pid: worker === 'w1' ? 1 : 2, wf, round: 1, cap: 'chaos.step1', task, attempt, at: end, outcome: 'ok', aborted: false },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'chaos-verify-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'driver.jsonl'), driver.map((l) => JSON.stringify(l)).join('\n') + '\n');
    writeFileSync(
      join(dir, 'worker-w1.jsonl'),
      run('w1', 1, T + 10, T + 100)
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'worker-w2.jsonl'),
      run('w2', 2, T + 6_000, T + 6_100)
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    return verifyRun({ dir, recoveryBoundMs: 10_000, audits: new Map() });
  };

  it('a process stopped right after its handler returned (its ack not sent yet) explains the rerun elsewhere', () => {
    const verdict = rerun(1);
    expect(verdict.duplicates.get('pause')).toBe(1);
    expect(verdict.violations.filter((v) => v.invariant === 3)).toEqual([]);
  });

  it('a pause long after the run ended explains nothing: the rerun is unexplained', () => {
    const verdict = rerun(3_000);
    expect(verdict.duplicates.get('unexplained')).toBe(1);
    expect(verdict.violations.filter((v) => v.invariant === 3)).toHaveLength(1);
  });
});
