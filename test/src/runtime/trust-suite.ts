import { randomUUID } from 'node:crypto';
import { AgentBus, generateAgentKeys, textOfParts, type AgentKeys, type Transport, type TrustPolicyInput } from '@a2a-bus/core';
import { afterEach, describe, expect, it } from 'vitest';

export interface TrustSuiteOptions {
  readonly name: string;
  /** A new independent client per call: one call stands for one process. */
  readonly createTransport: () => Transport | Promise<Transport>;
  /** Runtime namespace (brokers with ACLs allow one). Default a fresh one per case. */
  readonly namespace?: () => string;
  readonly timeoutMs?: number;
}

/** Keys of a caller and three agents, and a policy where each may do exactly its part. */
export function workflowIdentities(): { caller: AgentKeys; extract: AgentKeys; summarize: AgentKeys; classify: AgentKeys; policy: TrustPolicyInput } {
  const caller = generateAgentKeys();
  const extract = generateAgentKeys();
  const summarize = generateAgentKeys();
  const classify = generateAgentKeys();
  return {
    caller,
    extract,
    summarize,
    classify,
    policy: {
      serve: { 'doc.extract': [extract.publicKey], 'doc.summarize': [summarize.publicKey], 'doc.classify': [classify.publicKey] },
      dispatch: { 'doc.extract': [caller.publicKey], 'doc.summarize': [extract.publicKey], 'doc.classify': [summarize.publicKey] },
    },
  };
}

/**
 * The happy path with trust enforced: a three-step workflow (extract → summarize → classify,
 * each step dispatched by the one before, each agent a bus of its own), every envelope
 * signed and verified, and the audit trail naming who signed each step.
 */
export function trustedWorkflowSuite(options: TrustSuiteOptions): void {
  let transports: Transport[] = [];
  let buses: AgentBus[] = [];
  afterEach(async () => {
    await Promise.allSettled(buses.map((bus) => bus.close()));
    await Promise.allSettled(transports.map((transport) => transport.close({ drainTimeoutMs: 500 })));
    buses = [];
    transports = [];
  });

  describe(`[${options.name}] trust enforced`, () => {
    it('a three-step workflow completes, and audit() shows every step signed by the right agent and verified', async () => {
      const namespace = options.namespace?.() ?? `trust-${randomUUID().slice(0, 8)}`;
      const ids = workflowIdentities();
      const bus = async (keys: AgentKeys): Promise<AgentBus> => {
        const transport = await options.createTransport();
        transports.push(transport);
        const created = new AgentBus({
          transport,
          namespace,
          agentTtlMs: 5_000,
          timeoutMs: options.timeoutMs ?? 20_000,
          trust: { mode: 'enforce', keys, policy: ids.policy },
        });
        buses.push(created);
        await created.start();
        return created;
      };
      const card = (skill: string) => ({ name: skill, description: skill, version: '1.0.0', skills: [{ id: skill, name: skill, tags: [] }] });
      const extract = await bus(ids.extract);
      const summarize = await bus(ids.summarize);
      const classify = await bus(ids.classify);
      await classify.registerAgent(card('doc.classify'), { 'doc.classify': (task) => `class(${textOfParts(task.message.parts)})` });
      await summarize.registerAgent(card('doc.summarize'), {
        'doc.summarize': async (task) => resultText(await task.dispatch('doc.classify', `sum(${textOfParts(task.message.parts)})`)),
      });
      await extract.registerAgent(card('doc.extract'), {
        'doc.extract': async (task) => resultText(await task.dispatch('doc.summarize', `ext(${textOfParts(task.message.parts)})`)),
      });
      const caller = await bus(ids.caller);
      await waitUntil(
        () => ['doc.extract', 'doc.summarize', 'doc.classify'].every((c) => caller.agents().some((a) => a.capabilities.includes(c))) || undefined,
        20_000,
      );

      const workflowId = `wf-${randomUUID()}`;
      const task = await caller.dispatch('doc.extract', 'report', { workflowId });
      expect(task.status.state).toBe('TASK_STATE_COMPLETED');
      expect(resultText(task)).toBe('class(sum(ext(report)))');

      // The registry knows each agent's key from its signed announcement.
      expect(caller.agents().find((a) => a.capabilities.includes('doc.summarize'))?.publicKey).toBe(ids.summarize.publicKey);

      const audit = await waitUntil(async () => {
        const entries = await caller.audit(workflowId);
        return entries.filter((e) => e.type === 'task-event' && e.envelope.kind === 'stream-response' && 'task' in e.envelope.payload).length >= 3
          ? entries
          : undefined;
      }, 20_000);
      expect(audit.length).toBeGreaterThan(0);
      for (const entry of audit) expect(entry.verified, `${entry.type} ${entry.capability}`).toBe(true);
      const requests = audit.filter((e) => e.type === 'task-request');
      expect(requests.map((e) => [e.capability, e.signer])).toEqual([
        ['doc.extract', ids.caller.publicKey],
        ['doc.summarize', ids.extract.publicKey],
        ['doc.classify', ids.summarize.publicKey],
      ]);
      const servedBy = { 'doc.extract': ids.extract.publicKey, 'doc.summarize': ids.summarize.publicKey, 'doc.classify': ids.classify.publicKey } as Record<
        string,
        string
      >;
      for (const event of audit.filter((e) => e.type === 'task-event')) expect(event.signer).toBe(servedBy[event.capability!]);
    }, 90_000);
  });
}

function resultText(task: { artifacts?: Array<{ parts: Parameters<typeof textOfParts>[0] }> }): string {
  return (task.artifacts ?? []).map((a) => textOfParts(a.parts)).join('|');
}

async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
