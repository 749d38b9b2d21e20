import { NonRetryableError, TaskError, textOfParts, type A2AAgentCard, type TaskHandler } from '@a2a-bus/core';
import { now, type Journal, type RunLine } from './journal.js';

/** The chained pipeline every workflow runs: each step dispatches the next and waits for it. */
export const steps = ['chaos.step1', 'chaos.step2', 'chaos.step3'] as const;

/** What the driver asks for; passed unchanged down the chain. */
export interface Job {
  readonly wf: string;
  readonly round: number;
  /** The last step fails on every attempt: the request must end as a dead letter. */
  readonly poison: boolean;
  /** The last step runs `longMs` (far past ack timeouts, leases and sessions). */
  readonly long: boolean;
}

export interface StepTiming {
  /** Typical time a step spends on its own work, ±50%. */
  readonly handlerMs: number;
  readonly longMs: number;
}

export function cardFor(capability: string): A2AAgentCard {
  return {
    name: capability.replace('.', '-'),
    description: `fault harness step ${capability}`,
    version: '1.0.0',
    skills: [{ id: capability, name: capability, description: 'one step of the chaos pipeline', tags: ['chaos'] }],
  };
}

/**
 * The handler of one step. It journals a `begin` line before doing anything and an `end`
 * line when it settles, both fsync'd: the verifier reads these, not the bus's records. A
 * well-behaved handler, it stops when its signal aborts.
 */
export function stepHandler(capability: string, journal: Journal, identity: { worker: string; pid: number }, timing: StepTiming): TaskHandler {
  const index = steps.indexOf(capability as (typeof steps)[number]);
  const next = steps[index + 1];
  return async (ctx) => {
    const text = textOfParts(ctx.message.parts);
    const job = JSON.parse(text) as Job;
    const base = { ...identity, wf: ctx.workflowId, round: job.round, cap: capability, task: ctx.taskId, attempt: ctx.attempt };
    const end = (outcome: NonNullable<RunLine['outcome']>, reason?: string): void =>
      journal.append({ ev: 'end', ...base, at: now(), outcome, aborted: ctx.signal.aborted, ...(reason ? { reason } : {}) });
    journal.append({ ev: 'begin', ...base, at: now() });
    try {
      await sleep(timing.handlerMs * (0.5 + Math.random()), ctx.signal);
      if (!next && job.long) await sleep(timing.longMs, ctx.signal);
      if (!next && job.poison) throw new Error('poison request: this step can never process it');
      if (next) {
        try {
          // Stop waiting when this delivery is given up (lease lost): the child keeps running
          // for whoever owns this step now, which dispatches it again under the same task id.
          await Promise.race([ctx.dispatch(next, text), untilAborted(ctx.signal)]);
        } catch (error) {
          // The next step failed for good (dead-lettered): retrying this one would not help.
          if (TaskError.isInstance(error)) throw new NonRetryableError(`${next} ${error.state}`, { cause: error });
          throw error;
        }
      }
      end('ok');
      return `${capability} done`;
    } catch (error) {
      end(NonRetryableError.isInstance(error) ? 'failed' : 'error', error instanceof Error ? error.message : String(error));
      throw error;
    }
  };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(new Error('aborted: the delivery was given up'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted before the step ran'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted: the delivery was given up'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
