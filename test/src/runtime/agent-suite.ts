import { randomUUID } from 'node:crypto';
import {
  AgentBus,
  NoAgentError,
  NonRetryableError,
  TaskError,
  TaskTimeoutError,
  textOfParts,
  type A2AAgentCard,
  type A2AStreamResponse,
  type A2ATask,
  type AgentBusOptions,
  type AuditEntry,
  type TaskHandler,
  type Transport,
  runtimeTopics,
} from '@a2a-bus/core';
import { afterEach, describe, expect, it } from 'vitest';
import { delay, waitFor } from '../conformance/context.js';
import { runtimeHygieneCases } from './hygiene-cases.js';

export interface AgentSuiteOptions {
  readonly name: string;
  /** A new independent client per call: one call stands for one process. */
  readonly createTransport: () => Transport | Promise<Transport>;
  readonly timeoutMultiplier?: number;
  /**
   * Whether a transport closed without draining (this suite's stand-in for a dead process)
   * spends a delivery of what it held, so a request whose holders keep dying ends as a crash
   * loop. Memory and Redis: yes. Kafka keeps no delivery count. NATS: a killed process does
   * (the server redelivers after AckWait with the count raised), but after an in-process close,
   * which hands its messages back with a nak while its pull is still open, nats-server 2.9
   * delivers the next copy with a count of 1 (observed: consumer_seq 2, num_redelivered 0);
   * the chaos harness checks NATS with real SIGKILLs. Default true.
   */
  readonly countsDeliveries?: boolean;
}

function card(name: string, ...skills: string[]): A2AAgentCard {
  return { name, description: `${name} agent`, version: '1.0.0', skills: skills.map((id) => ({ id, name: id, tags: [] })) };
}

function resultText(task: A2ATask): string {
  return (task.artifacts ?? []).map((a) => textOfParts(a.parts)).join('|');
}

/**
 * The agent runtime, checked on one backend: routing, competing workers, results to the
 * right caller, streaming, cancel, timeouts, retries and dead letters, duplicates, chained
 * workflows, a worker dying mid-task, and the audit replay.
 */
export function agentRuntimeSuite(options: AgentSuiteOptions): void {
  const m = options.timeoutMultiplier ?? 1;
  const ms = (n: number): number => Math.round(n * m);
  let transports: Transport[] = [];
  let buses: AgentBus[] = [];

  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 500 })));
    buses = [];
    transports = [];
  });

  /** A bus on a transport of its own (a process), in the case's namespace. */
  const bus = async (namespace: string, extra: Partial<AgentBusOptions> = {}): Promise<AgentBus> => {
    const transport = await options.createTransport();
    transports.push(transport);
    const b = new AgentBus({ transport, namespace, agentTtlMs: ms(3_000), timeoutMs: ms(20_000), ...extra });
    buses.push(b);
    await b.start();
    return b;
  };
  const ns = (): string => `rt-${randomUUID().slice(0, 8)}`;
  const test = (title: string, fn: () => Promise<void>, timeoutMs = 45_000): void => {
    it(`[${options.name}] ${title}`, fn, ms(timeoutMs));
  };
  const echo: TaskHandler = (ctx) => `echo:${textOfParts(ctx.message.parts)}`;

  describe(`[${options.name}] agent runtime`, () => {
    test('routes by capability and lists live agents until they stop', async () => {
      const space = ns();
      const worker = await bus(space);
      await worker.registerAgent(card('upper', 'text.upper'), { 'text.upper': (ctx) => textOfParts(ctx.message.parts).toUpperCase() });
      await worker.registerAgent(card('lower', 'text.lower'), { 'text.lower': (ctx) => textOfParts(ctx.message.parts).toLowerCase() });
      const caller = await bus(space);
      await waitFor('both agents in the registry', () => caller.agents().length === 2, ms(10_000));
      expect(
        caller
          .agents()
          .map((a) => a.card.name)
          .sort(),
      ).toEqual(['lower', 'upper']);
      expect(resultText(await caller.dispatch('text.upper', 'MiXeD'))).toBe('MIXED');
      expect(resultText(await caller.dispatch('text.lower', 'MiXeD'))).toBe('mixed');
      await worker.close();
      await waitFor('the agents to leave the registry', () => caller.agents().length === 0, ms(10_000));
    });

    test('no live agent: a clear error at once, or enqueue and wait for one', async () => {
      const space = ns();
      const caller = await bus(space);
      const error = await caller.dispatch('text.nobody', 'hi').catch((e: unknown) => e);
      expect(NoAgentError.isInstance(error)).toBe(true);
      const queued = caller.dispatch('text.later', 'queued', { whenNoAgent: 'enqueue' });
      await delay(ms(200));
      const worker = await bus(space);
      await worker.registerAgent(card('later', 'text.later'), { 'text.later': echo });
      expect(resultText(await queued)).toBe('echo:queued');
    });

    test('competing workers share the work; every caller gets its own results', async () => {
      const space = ns();
      const served = new Map<string, number>();
      for (const name of ['w1', 'w2', 'w3']) {
        const worker = await bus(space);
        await worker.registerAgent(card('echo', 'text.echo'), {
          'text.echo': async (ctx) => {
            served.set(name, (served.get(name) ?? 0) + 1);
            await delay(5);
            return `${name}:${textOfParts(ctx.message.parts)}`;
          },
        });
      }
      const callers = [await bus(space), await bus(space), await bus(space)];
      await waitFor('three workers live', () => callers.every((c) => c.agents().length === 3), ms(10_000));
      const results = await Promise.all(
        callers.flatMap((caller, c) =>
          Array.from({ length: 20 }, async (_, i) => {
            const task = await caller.dispatch('text.echo', `c${c}-${i}`, { workflowId: `wf-${c}-${i}` });
            return { asked: `c${c}-${i}`, got: resultText(task).split(':')[1] };
          }),
        ),
      );
      expect(results.every((r) => r.asked === r.got)).toBe(true);
      // At least once: a rebalance while the group settles may run a request twice, never zero times.
      expect([...served.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(60);
      expect(served.size).toBeGreaterThanOrEqual(2);
    }, 90_000);

    test('a worker that has just registered gets work within 2 s, while the first one is busy', async () => {
      const space = ns();
      const firstStart = new Map<string, number>();
      const slow =
        (name: string): TaskHandler =>
        async () => {
          if (!firstStart.has(name)) firstStart.set(name, Date.now());
          await delay(200);
          return name;
        };
      // Two at a time each: the first worker alone needs about 6 s for the backlog below.
      const first = await bus(space, { maxInFlight: 2 });
      await first.registerAgent(card('slow', 'text.slow'), { 'text.slow': slow('first') });
      const caller = await bus(space);
      await waitFor('the first worker live', () => caller.agents().length === 1, ms(10_000));
      const backlog = Array.from({ length: 60 }, (_, i) => caller.dispatch('text.slow', `t${i}`, { workflowId: `wf-${i}` }));
      await waitFor('the first worker busy', () => firstStart.has('first'), ms(10_000));
      const second = await bus(space, { maxInFlight: 2 });
      await second.registerAgent(card('slow', 'text.slow'), { 'text.slow': slow('second') });
      const registeredAt = Date.now();
      await waitFor('the second worker to get work', () => firstStart.has('second'), ms(10_000));
      expect(firstStart.get('second')! - registeredAt).toBeLessThan(2_000);
      await Promise.all(backlog);
    }, 90_000);

    test('streams status updates and artifact chunks, then the final task', async () => {
      const space = ns();
      const worker = await bus(space);
      await worker.registerAgent(card('writer', 'text.write'), {
        'text.write': async (ctx) => {
          await ctx.status('drafting');
          for (const chunk of ['one ', 'two ', 'three'])
            await ctx.artifact({ artifactId: 'draft', parts: [{ text: chunk }] }, { append: chunk !== 'one ', lastChunk: chunk === 'three' });
        },
      });
      const caller = await bus(space);
      await waitFor('the writer', () => caller.agents().length === 1, ms(10_000));
      const events: A2AStreamResponse[] = [];
      for await (const event of caller.dispatchStream('text.write', 'go')) events.push(event);
      const kinds = events.map((e) =>
        'task' in e
          ? `task:${e.task.status.state}`
          : 'statusUpdate' in e
            ? `status:${e.statusUpdate.status.state}`
            : 'artifactUpdate' in e
              ? 'artifact'
              : 'message',
      );
      expect(kinds).toEqual([
        'task:TASK_STATE_SUBMITTED',
        'status:TASK_STATE_WORKING',
        'status:TASK_STATE_WORKING',
        'artifact',
        'artifact',
        'artifact',
        'task:TASK_STATE_COMPLETED',
      ]);
      const last = events.at(-1)!;
      if (!('task' in last)) throw new Error('expected the final task');
      expect(last.task.artifacts?.map((a) => textOfParts(a.parts)).join('')).toBe('one two three');
    });

    test('cancel: the handler sees the abort and the task ends canceled', async () => {
      const space = ns();
      let aborted = 0;
      let started = 0;
      const worker = await bus(space);
      await worker.registerAgent(card('slow', 'text.slow'), {
        'text.slow': (ctx) =>
          new Promise<string>((resolve) => {
            started += 1;
            ctx.signal.addEventListener('abort', () => {
              aborted += 1;
              resolve('stopped');
            });
          }),
      });
      const caller = await bus(space);
      await waitFor('the slow agent', () => caller.agents().length === 1, ms(10_000));
      const controller = new AbortController();
      const running = caller.dispatch('text.slow', 'forever', { signal: controller.signal });
      await waitFor('the handler to start', () => started === 1, ms(15_000));
      controller.abort();
      const error = await running.catch((e: unknown) => e);
      expect(TaskError.isInstance(error) && error.state).toBe('canceled');
      await waitFor('the handler to see the abort', () => aborted === 1, ms(10_000));
      // Canceling by task id works the same way, and ends the dispatch canceled.
      const taskId = randomUUID();
      const second = caller.dispatch('text.slow', 'forever too', { taskId, workflowId: 'wf-cancel-2' });
      await waitFor('the second handler to start', () => started === 2, ms(15_000));
      await caller.cancel(taskId, 'wf-cancel-2');
      const secondError = await second.catch((e: unknown) => e);
      expect(TaskError.isInstance(secondError) && secondError.state).toBe('canceled');
    });

    test('timeouts: the caller gets a timeout error and an expired task is not started', async () => {
      const space = ns();
      const started: string[] = [];
      const worker = await bus(space);
      await worker.registerAgent(card('blocking', 'text.block'), {
        'text.block': async (ctx) => {
          started.push(textOfParts(ctx.message.parts));
          await delay(ms(800));
          return 'done';
        },
      });
      const caller = await bus(space);
      await waitFor('the agent', () => caller.agents().length === 1, ms(10_000));
      const first = caller.dispatch('text.block', 'first', { workflowId: 'wf-t' });
      await delay(ms(100));
      // Same workflow: queued behind the first, and its deadline passes while it waits.
      const error = await caller.dispatch('text.block', 'second', { workflowId: 'wf-t', timeoutMs: ms(300) }).catch((e: unknown) => e);
      expect(TaskTimeoutError.isInstance(error)).toBe(true);
      expect(resultText(await first)).toBe('done');
      await delay(ms(500));
      expect(started).toEqual(['first']);
      // A request whose deadline passed while it sat in the log (no caller cancel involved).
      const transport = await options.createTransport();
      transports.push(transport);
      await transport.publish(runtimeTopics(space).tasks('text.block'), {
        kind: 'message',
        key: 'wf-stale',
        payload: { messageId: randomUUID(), role: 'ROLE_USER', taskId: 'stale-task', contextId: 'wf-stale', parts: [{ text: 'stale' }] },
        deadline: new Date(Date.now() - 1_000).toISOString(),
        headers: { 'a2a-bus.type': 'task-request', 'a2a-bus.capability': 'text.block', 'a2a-bus.task-id': 'stale-task' },
      });
      let verdict: string | undefined;
      for (let i = 0; i < 100 && !verdict; i += 1) {
        const events = await caller.audit('wf-stale');
        const final = events.find((e) => e.envelope.kind === 'stream-response' && 'task' in e.envelope.payload);
        if (final && final.envelope.kind === 'stream-response' && 'task' in final.envelope.payload) verdict = final.envelope.payload.task.status.state;
        else await delay(100);
      }
      expect(verdict).toBe('TASK_STATE_FAILED');
      expect(started).toEqual(['first']);
    });

    test('retries with backoff, then the dead-letter topic and a failed task; non-retryable fails at once', async () => {
      const space = ns();
      const attempts = new Map<string, number[]>();
      const worker = await bus(space, { retry: { maxAttempts: 3, initialDelayMs: 20 } });
      await worker.registerAgent(card('flaky', 'text.flaky'), {
        'text.flaky': (ctx) => {
          const text = textOfParts(ctx.message.parts);
          attempts.set(text, [...(attempts.get(text) ?? []), ctx.attempt]);
          if (text === 'recovers' && ctx.attempt < 3) throw new Error('not yet');
          if (text === 'never') throw new Error('always broken');
          if (text === 'fatal') throw new NonRetryableError('bad input');
          return 'ok';
        },
      });
      const caller = await bus(space);
      await waitFor('the agent', () => caller.agents().length === 1, ms(10_000));
      expect(resultText(await caller.dispatch('text.flaky', 'recovers'))).toBe('ok');
      expect(attempts.get('recovers')).toEqual([1, 2, 3]);

      const failed = await caller.dispatch('text.flaky', 'never', { workflowId: 'wf-dlq' }).catch((e: unknown) => e);
      expect(TaskError.isInstance(failed) && failed.state).toBe('failed');
      expect((failed as Error).message).toMatch(/failed after 3 attempts: always broken/);
      expect(attempts.get('never')).toEqual([1, 2, 3]);
      let dead: AuditEntry | undefined;
      for (let i = 0; i < 100 && !dead; i += 1) {
        dead = (await caller.audit('wf-dlq')).find((e) => e.type === 'dead-letter');
        if (!dead) await delay(100);
      }
      expect(dead?.envelope.kind === 'dead-letter' && dead.envelope.payload.attempts).toBe(3);

      const fatal = await caller.dispatch('text.flaky', 'fatal').catch((e: unknown) => e);
      expect(TaskError.isInstance(fatal) && fatal.state).toBe('failed');
      expect(attempts.get('fatal')).toEqual([1]);
    }, 60_000);

    test('a duplicate delivery of a completed task does not run the handler again', async () => {
      const space = ns();
      let runs = 0;
      const worker = await bus(space);
      await worker.registerAgent(card('once', 'text.once'), {
        'text.once': () => {
          runs += 1;
          return 'done once';
        },
      });
      const caller = await bus(space);
      await waitFor('the agent', () => caller.agents().length === 1, ms(10_000));
      const taskId = randomUUID();
      expect(resultText(await caller.dispatch('text.once', 'x', { taskId, workflowId: 'wf-dup' }))).toBe('done once');
      // The same request again (a producer retry, a redelivery): answered from the store.
      expect(resultText(await caller.dispatch('text.once', 'x', { taskId, workflowId: 'wf-dup' }))).toBe('done once');
      expect(runs).toBe(1);
    });

    test('a three-step workflow stays in order and replays from the audit trail', async () => {
      const space = ns();
      const worker = await bus(space);
      await worker.registerAgent(card('extractor', 'doc.extract'), {
        'doc.extract': async (ctx) => {
          const words = textOfParts(ctx.message.parts).split(/\s+/).filter(Boolean);
          const summary = await ctx.dispatch('doc.summarize', words.join(' '));
          return `extracted ${words.length} words; ${resultText(summary)}`;
        },
      });
      await worker.registerAgent(card('summarizer', 'doc.summarize'), {
        'doc.summarize': async (ctx) => {
          const summary = textOfParts(ctx.message.parts).split(' ').slice(0, 3).join(' ');
          const label = await ctx.dispatch('doc.classify', summary);
          return `summary "${summary}" → ${resultText(label)}`;
        },
      });
      await worker.registerAgent(card('classifier', 'doc.classify'), {
        'doc.classify': (ctx) => (textOfParts(ctx.message.parts).includes('invoice') ? 'finance' : 'other'),
      });
      const caller = await bus(space);
      await waitFor('three agents', () => caller.agents().length === 3, ms(10_000));
      const task = await caller.dispatch('doc.extract', 'the invoice is due tomorrow morning', { workflowId: 'wf-chain' });
      expect(resultText(task)).toBe('extracted 6 words; summary "the invoice is" → finance');
      const audit = await caller.audit('wf-chain');
      const steps = audit.filter((e) => e.type === 'task-request').map((e) => e.capability);
      expect(steps).toEqual(['doc.extract', 'doc.summarize', 'doc.classify']);
      const completions = audit
        .filter((e) => e.envelope.kind === 'stream-response' && 'task' in e.envelope.payload && e.envelope.payload.task.status.state === 'TASK_STATE_COMPLETED')
        .map((e) => e.capability);
      expect(completions).toEqual(['doc.classify', 'doc.summarize', 'doc.extract']);
      const working = audit.filter((e) => e.envelope.kind === 'stream-response' && 'statusUpdate' in e.envelope.payload).map((e) => e.capability);
      expect(working).toEqual(['doc.extract', 'doc.summarize', 'doc.classify']);
    });

    test('a worker that dies mid-task: the task finishes on another worker', async () => {
      const space = ns();
      const attemptsSeen: number[] = [];
      const doomedTransport = await options.createTransport();
      transports.push(doomedTransport);
      const doomed = new AgentBus({ transport: doomedTransport, namespace: space, agentTtlMs: ms(3_000) });
      buses.push(doomed);
      let doomedGotIt = false;
      await doomed.registerAgent(card('worker', 'job.run'), {
        'job.run': () => {
          doomedGotIt = true;
          return new Promise<string>(() => {}); // hangs until the process dies
        },
      });
      const caller = await bus(space);
      await waitFor('the doomed worker', () => caller.agents().length === 1, ms(10_000));
      const result = caller.dispatch('job.run', 'important', { workflowId: 'wf-crash', timeoutMs: ms(60_000) });
      await waitFor('the doomed worker to take the task', () => doomedGotIt, ms(15_000));
      const survivor = await bus(space);
      await survivor.registerAgent(card('worker', 'job.run'), {
        'job.run': (ctx) => {
          attemptsSeen.push(ctx.attempt);
          return 'finished elsewhere';
        },
      });
      await doomedTransport.close({ drainTimeoutMs: 0 }); // the process dies: nothing acknowledged
      expect(resultText(await result)).toBe('finished elsewhere');
      expect(attemptsSeen.length).toBeGreaterThanOrEqual(1);
    }, 90_000);

    if (options.countsDeliveries !== false) {
      test('a task whose workers keep dying is answered "failed" as a crash loop, not left to time out', async () => {
        const space = ns();
        const doomedTransport = await options.createTransport();
        transports.push(doomedTransport);
        // One attempt, and one delivery without an answer before it counts as a crash loop.
        const once = { retry: { maxAttempts: 1, maxDeliveries: 1 } };
        const doomed = new AgentBus({ transport: doomedTransport, namespace: space, agentTtlMs: ms(3_000), ...once });
        buses.push(doomed);
        let doomedGotIt = false;
        await doomed.registerAgent(card('worker', 'job.loop'), {
          'job.loop': () => {
            doomedGotIt = true;
            return new Promise<string>(() => {}); // hangs until the process dies
          },
        });
        const caller = await bus(space);
        await waitFor('the doomed worker', () => caller.agents().length === 1, ms(10_000));
        const started = performance.now();
        const result = caller.dispatch('job.loop', 'kills its workers', { workflowId: 'wf-loop', timeoutMs: ms(60_000) }).catch((e: unknown) => e);
        await waitFor('the doomed worker to take the task', () => doomedGotIt, ms(15_000));
        await doomedTransport.close({ drainTimeoutMs: 0 }); // the process dies: its one allowed delivery is spent
        // The next worker comes after the death (one there before would take the task over in a
        // rebalance, which hands it on without spending a delivery).
        const survivorRuns: number[] = [];
        const survivor = await bus(space, once);
        await survivor.registerAgent(card('worker', 'job.loop'), { 'job.loop': (ctx) => void survivorRuns.push(ctx.attempt) });
        const error = await result;
        expect(TaskError.isInstance(error) && error.state).toBe('failed');
        expect((error as Error).message).toMatch(/crash loop: delivered 2 times and never answered \(dead-lettered to /);
        expect(performance.now() - started).toBeLessThan(ms(60_000)); // answered, not timed out
        expect(survivorRuns).toEqual([]);
        let dead: AuditEntry | undefined;
        for (let i = 0; i < 100 && !dead; i += 1) {
          dead = (await caller.audit('wf-loop')).find((e) => e.type === 'dead-letter');
          if (!dead) await delay(100);
        }
        expect(dead?.envelope.kind === 'dead-letter' && dead.envelope.payload.reason).toBe('crash loop');
      }, 90_000);
    }

    runtimeHygieneCases({
      test,
      ns,
      ms,
      bus,
      transport: async () => {
        const transport = await options.createTransport();
        transports.push(transport);
        return transport;
      },
    });
  });
}
