import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One handler run as a worker saw it: a `begin` line when it starts, an `end` line when it settles. */
export interface RunLine {
  readonly ev: 'begin' | 'end';
  readonly worker: string;
  readonly pid: number;
  readonly wf: string;
  readonly round: number;
  readonly cap: string;
  readonly task: string;
  readonly attempt: number;
  /** ms since the epoch, fractional (every process shares the machine's clock). */
  readonly at: number;
  /** On `end`: ok (returned), error (threw: retry or dead letter), failed (gave up for good). */
  readonly outcome?: 'ok' | 'error' | 'failed';
  /** On `end`: the handler's signal was aborted (lease lost, abandoned, canceled). */
  readonly aborted?: boolean;
  readonly reason?: string;
}

/** What the driver did and saw. */
export type DriverLine =
  | {
      readonly ev: 'dispatch';
      readonly wf: string;
      readonly round: number;
      readonly task: string;
      readonly poison: boolean;
      readonly long: boolean;
      readonly at: number;
    }
  | {
      readonly ev: 'result';
      readonly wf: string;
      readonly round: number;
      readonly task: string;
      readonly state: string;
      readonly reason?: string;
      readonly at: number;
    }
  | { readonly ev: 'spawn'; readonly worker: string; readonly pid: number; readonly caps: readonly string[]; readonly at: number; readonly replaces?: string }
  | { readonly ev: 'kill'; readonly worker: string; readonly pid: number; readonly at: number }
  | { readonly ev: 'pause'; readonly worker: string; readonly pid: number; readonly at: number; readonly until: number }
  | { readonly ev: 'broker-restart'; readonly at: number; readonly until: number };

/** A numbered line read back, for violation reports (`w3.jsonl:17`). */
export interface Located<T> {
  readonly line: T;
  readonly file: string;
  readonly lineNo: number;
}

/**
 * An append-only JSON-lines file, fsync'd after every line: what a worker wrote survives
 * its SIGKILL one instruction later. Synchronous on purpose (the line is down before the
 * handler goes on).
 */
export class Journal {
  private fd: number | undefined;

  constructor(path: string) {
    this.fd = openSync(path, 'a');
  }

  /** After `close()` lines are dropped: an in-process worker "killed" writes nothing more, as a dead process would not. */
  append(line: RunLine | DriverLine): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Every line of every `*.jsonl` in `dir` whose name starts with `prefix`. A torn last line (killed mid-write) is skipped. */
export function readJournals<T>(dir: string, prefix: string): Array<Located<T>> {
  if (!existsSync(dir)) return [];
  const lines: Array<Located<T>> = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl'))
    .sort()) {
    const text = readFileSync(join(dir, file), 'utf8');
    text.split('\n').forEach((raw, index) => {
      if (!raw.trim()) return;
      try {
        lines.push({ line: JSON.parse(raw) as T, file, lineNo: index + 1 });
      } catch {
        // a line cut short by SIGKILL: the run it began has no end, which is what happened
      }
    });
  }
  return lines;
}
