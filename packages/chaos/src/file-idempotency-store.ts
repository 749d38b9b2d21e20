import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { A2ATask, IdempotencyStore } from '@a2a-bus/core';

/**
 * An idempotency store every worker process of a run shares (one file per task, written
 * atomically): a redelivered task that already completed somewhere is answered, not re-run —
 * what a deployment gets from a shared store (e.g. Redis). The harness checks that it holds.
 */
export class FileIdempotencyStore implements IdempotencyStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  async get(taskId: string): Promise<A2ATask | undefined> {
    try {
      return JSON.parse(readFileSync(this.path(taskId), 'utf8')) as A2ATask;
    } catch {
      return undefined;
    }
  }

  async set(taskId: string, task: A2ATask): Promise<void> {
    const path = this.path(taskId);
    const staging = `${path}.${process.pid}.tmp`;
    writeFileSync(staging, JSON.stringify(task));
    renameSync(staging, path);
  }

  private path(taskId: string): string {
    return join(this.dir, `${createHash('sha1').update(taskId).digest('hex')}.json`);
  }
}
