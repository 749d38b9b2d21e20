import { randomUUID } from 'node:crypto';
import { AgentBus, createTransport, TaskError, type Transport } from '@a2a-bus/core';

/**
 * What the CLI tests look at: a namespace with a live agent serving three capabilities, a
 * completed two-step workflow, and a dead letter from a capability that fails until fixed.
 */
export interface Scenario {
  readonly namespace: string;
  readonly transport: Transport;
  readonly worker: AgentBus;
  readonly caller: AgentBus;
  readonly completedWorkflow: string;
  readonly failedWorkflow: string;
  readonly failedTaskId: string;
  /** From now on `ops.flaky` succeeds (so a redriven request completes). */
  fix(): void;
  close(): Promise<void>;
}

/** Fixed names make a reproducible transcript (README); random ones keep parallel runs apart. */
export interface ScenarioNames {
  readonly namespace?: string;
  readonly completedWorkflow?: string;
  readonly failedWorkflow?: string;
  readonly completedTaskId?: string;
  readonly failedTaskId?: string;
  readonly workerInstance?: string;
  readonly callerInstance?: string;
  /** Partitions of the topics the scenario creates (default: the backend's). */
  readonly partitions?: number;
}

export async function startScenario(url: string, names: ScenarioNames = {}): Promise<Scenario> {
  const namespace = names.namespace ?? `cli-${randomUUID().slice(0, 8)}`;
  const transport = await createTransport(url, names.partitions ? { partitions: names.partitions } : {});
  await transport.connect();
  let fixed = false;
  const worker = new AgentBus({
    transport,
    namespace,
    agentTtlMs: 3_000,
    retry: { maxAttempts: 2, initialDelayMs: 10 },
    ...(names.workerInstance ? { instanceId: names.workerInstance } : {}),
  });
  await worker.registerAgent(
    {
      name: 'ops-agent',
      description: 'extracts, summarizes, and sometimes fails',
      version: '1.0.0',
      skills: [
        { id: 'ops.extract', name: 'Extract', tags: [] },
        { id: 'ops.summarize', name: 'Summarize', tags: [] },
        { id: 'ops.flaky', name: 'Flaky', tags: [] },
      ],
    },
    {
      'ops.extract': async (ctx) => {
        await ctx.artifact('extracted text');
        const summary = await ctx.dispatch('ops.summarize', 'summarize this');
        return `extract done (${summary.status.state})`;
      },
      'ops.summarize': () => 'a summary',
      'ops.flaky': () => {
        if (!fixed) throw new Error('upstream exploded');
        return 'fixed now';
      },
    },
  );
  const caller = new AgentBus({ transport, namespace, agentTtlMs: 3_000, ...(names.callerInstance ? { instanceId: names.callerInstance } : {}) });
  const completedWorkflow = names.completedWorkflow ?? `wf-ok-${randomUUID().slice(0, 6)}`;
  const failedWorkflow = names.failedWorkflow ?? `wf-bad-${randomUUID().slice(0, 6)}`;
  const failedTaskId = names.failedTaskId ?? `task-bad-${randomUUID().slice(0, 6)}`;
  const completedTaskId = names.completedTaskId ?? randomUUID();
  await caller.dispatch('ops.extract', 'a document', { workflowId: completedWorkflow, taskId: completedTaskId, timeoutMs: 30_000 });
  await caller.dispatch('ops.flaky', 'try this', { workflowId: failedWorkflow, taskId: failedTaskId, timeoutMs: 30_000 }).then(
    () => Promise.reject(new Error('ops.flaky should have failed')),
    (error: unknown) => {
      if (!TaskError.isInstance(error)) throw error;
    },
  );
  // The request is dead-lettered just after its caller learned it failed: wait for it.
  const deadLetterTopic = `${namespace}.tasks.ops.flaky.dlq`;
  for (const deadline = Date.now() + 20_000; ; ) {
    let found = false;
    for await (const record of transport.replay(deadLetterTopic)) if (record.envelope?.id) found = true;
    if (found) break;
    if (Date.now() > deadline) throw new Error(`no dead letter on ${deadLetterTopic}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    namespace,
    transport,
    worker,
    caller,
    completedWorkflow,
    failedWorkflow,
    failedTaskId,
    fix: () => void (fixed = true),
    async close() {
      await caller.close();
      await worker.close();
      await transport.close({ drainTimeoutMs: 1_000 });
    },
  };
}
