import { randomUUID } from 'node:crypto';
import {
  AgentBus,
  createEnvelope,
  generateAgentKeys,
  runtimeHeaders,
  runtimeTopics,
  signEnvelope,
  textOfParts,
  UntrustedEnvelopeError,
  type AgentKeys,
  type Envelope,
  type EnvelopeInput,
  type Transport,
  type TrustOptions,
} from '@a2a-bus/core';
import { createMemoryTransport, MemoryBroker } from '@a2a-bus/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { trustedWorkflowSuite } from './src/runtime/trust-suite.js';
import { capturingLogger } from './src/servers/secured-broker.js';

const broker = new MemoryBroker();
trustedWorkflowSuite({ name: 'memory', createTransport: () => createMemoryTransport({ broker, partitions: 4 }) });

const card = (skill: string) => ({ name: `${skill}-agent`, description: skill, version: '1.0.0', skills: [{ id: skill, name: skill, tags: [] }] });

describe('[memory] trust: what enforce refuses', () => {
  let transports: Transport[] = [];
  let buses: AgentBus[] = [];
  afterEach(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    await Promise.allSettled(transports.map((t) => t.close({ drainTimeoutMs: 200 })));
    buses = [];
    transports = [];
  });

  /** A worker serving `echo` (counting its runs), a caller allowed to dispatch to it, and a raw transport for the attacker. */
  async function setup(trust: Partial<TrustOptions> = {}, logger?: ReturnType<typeof capturingLogger>['logger'], extraServers: Record<string, string[]> = {}) {
    const namespace = `t-${randomUUID().slice(0, 8)}`;
    const topics = runtimeTopics(namespace);
    const workerKeys = generateAgentKeys();
    const callerKeys = generateAgentKeys();
    const bystander = generateAgentKeys(); // known (may dispatch), may serve nothing
    const otherServer = generateAgentKeys(); // may serve `other`, not `echo`
    const policy = {
      serve: { echo: [workerKeys.publicKey, ...(extraServers.echo ?? [])], other: [otherServer.publicKey] },
      dispatch: { echo: [callerKeys.publicKey, bystander.publicKey] },
    };
    const transport = (): Transport => {
      const t = createMemoryTransport({ broker, partitions: 2 });
      transports.push(t);
      return t;
    };
    const bus = async (keys: AgentKeys): Promise<AgentBus> => {
      const b = new AgentBus({
        transport: transport(),
        namespace,
        agentTtlMs: 3_000,
        timeoutMs: 5_000,
        trust: { mode: 'enforce', keys, policy, ...trust },
        ...(logger ? { logger } : {}),
      });
      buses.push(b);
      await b.start();
      return b;
    };
    const runs: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = await bus(workerKeys);
    await worker.registerAgent(card('echo'), {
      echo: async (task) => {
        runs.push(textOfParts(task.message.parts));
        if (textOfParts(task.message.parts) === 'slow') await gate;
        return `echo:${textOfParts(task.message.parts)}`;
      },
    });
    const caller = await bus(callerKeys);
    const raw = transport();
    /** Dead letters on `topic.dlq`, once at least `count` arrived. */
    const deadLetters = async (topic: string, count = 1): Promise<Envelope[]> => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const found: Envelope[] = [];
        for await (const record of raw.replay(`${topic}.dlq`)) if (record.envelope) found.push(record.envelope);
        if (found.length >= count || Date.now() > deadline) return found;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return { namespace, topics, workerKeys, callerKeys, bystander, otherServer, worker, caller, raw, runs, release, deadLetters, bus };
  }

  const request = (taskId: string, text: string): EnvelopeInput => ({
    kind: 'message',
    key: `wf-${taskId}`,
    payload: { role: 'ROLE_USER', messageId: randomUUID(), parts: [{ text }], taskId, contextId: `wf-${taskId}` },
    correlationId: taskId,
    headers: { [runtimeHeaders.type]: 'task-request', [runtimeHeaders.capability]: 'echo', [runtimeHeaders.taskId]: taskId },
  });

  function reasonOf(letter: Envelope): { reason: string; code: string | undefined } {
    if (letter.kind !== 'dead-letter') throw new Error('not a dead letter');
    return { reason: letter.payload.reason, code: letter.payload.error.code };
  }

  it('the happy path still works and the result is signed by the worker', async () => {
    const { caller, workerKeys } = await setup();
    const task = await caller.dispatch('echo', 'hi');
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    const audit = await caller.audit(task.contextId);
    expect(audit.filter((e) => e.type === 'task-event').every((e) => e.signer === workerKeys.publicKey && e.verified)).toBe(true);
  });

  it('a request signed by an unknown key never reaches the handler and is dead-lettered naming "unknown-signer"', async () => {
    const { raw, topics, runs, deadLetters } = await setup();
    const stranger = generateAgentKeys();
    await raw.publish(topics.tasks('echo'), signEnvelope(request(randomUUID(), 'from a stranger'), stranger));
    const [letter] = await deadLetters(topics.tasks('echo'));
    expect(reasonOf(letter!).reason).toMatch(/check "unknown-signer" failed/);
    expect(reasonOf(letter!).code).toBe(UntrustedEnvelopeError.code);
    expect(runs).not.toContain('from a stranger');
  });

  it('an unsigned request, one from a key not allowed to dispatch to the capability, and one signed for another capability are refused', async () => {
    const { raw, topics, runs, deadLetters, workerKeys, callerKeys } = await setup();
    await raw.publish(topics.tasks('echo'), request(randomUUID(), 'unsigned'));
    // The worker's own key may serve echo but not dispatch to it, with or without the runtime's type header.
    await raw.publish(topics.tasks('echo'), signEnvelope(request(randomUUID(), 'not a dispatcher'), workerKeys));
    const headerless = request(randomUUID(), 'no type header');
    await raw.publish(topics.tasks('echo'), signEnvelope({ ...headerless, headers: { [runtimeHeaders.taskId]: headerless.correlationId! } }, workerKeys));
    // Signed by an allowed dispatcher for another capability, copied onto echo's topic (the topic is not signed).
    const elsewhere = request(randomUUID(), 'meant for another capability');
    await raw.publish(
      topics.tasks('echo'),
      signEnvelope({ ...elsewhere, headers: { ...elsewhere.headers, [runtimeHeaders.capability]: 'other' } }, callerKeys),
    );
    const letters = await deadLetters(topics.tasks('echo'), 4);
    expect(letters.map((l) => reasonOf(l).reason.match(/check "([\w-]+)"/)?.[1]).sort()).toEqual(['dispatch', 'dispatch', 'dispatch', 'signature']);
    expect(letters.some((l) => /signed for other, not echo/.test(reasonOf(l).reason))).toBe(true);
    expect(runs).toEqual([]);
  });

  it('a tampered request (payload changed after signing) is dead-lettered naming "signature"', async () => {
    const { raw, topics, runs, deadLetters, callerKeys } = await setup();
    const signed = signEnvelope(request(randomUUID(), 'pay 10'), callerKeys);
    const tampered = createEnvelope({ ...signed, payload: { ...(signed.payload as object), parts: [{ text: 'pay 1000' }] } } as EnvelopeInput);
    await raw.publish(topics.tasks('echo'), tampered);
    const [letter] = await deadLetters(topics.tasks('echo'));
    expect(reasonOf(letter!).reason).toMatch(/check "signature" failed: .*does not match the content/);
    expect(runs).toEqual([]);
  });

  it('a forged result never reaches the caller: the real worker answers; forgeries are dead-lettered naming "unknown-signer" and "result"', async () => {
    const { caller, raw, topics, release, deadLetters, bystander, otherServer, runs } = await setup();
    const taskId = randomUUID();
    const workflowId = `wf-${randomUUID()}`;
    const pending = caller.dispatch('echo', 'slow', { taskId, workflowId });
    await waitFor(() => runs.includes('slow'));
    const forged = (
      state: string,
      text: string,
      headers: Record<string, string> = { [runtimeHeaders.type]: 'task-event', [runtimeHeaders.capability]: 'echo', [runtimeHeaders.taskId]: taskId },
    ): EnvelopeInput =>
      ({
        kind: 'stream-response',
        key: workflowId,
        correlationId: taskId,
        payload: {
          task: {
            id: taskId,
            contextId: workflowId,
            status: { state, timestamp: new Date().toISOString() },
            artifacts: [{ artifactId: 'x', parts: [{ text }] }],
          },
        },
        headers,
      }) as EnvelopeInput;
    const replies = topics.replies;
    await raw.publish(replies, signEnvelope(forged('TASK_STATE_COMPLETED', 'forged by a stranger'), generateAgentKeys()));
    // Known to the policy (may dispatch), but may not answer for echo.
    await raw.publish(replies, signEnvelope(forged('TASK_STATE_FAILED', 'forged by a dispatcher'), bystander));
    // Without the runtime's headers, and claiming a capability its key may serve: still not the one the task went to.
    await raw.publish(replies, signEnvelope(forged('TASK_STATE_COMPLETED', 'forged without headers', {}), bystander));
    await raw.publish(
      replies,
      signEnvelope(
        forged('TASK_STATE_COMPLETED', 'forged for another capability', { [runtimeHeaders.type]: 'task-event', [runtimeHeaders.capability]: 'other' }),
        otherServer,
      ),
    );
    // The reply topic is shared by the namespace's buses: each one that reads a forgery refuses it.
    const checkByForgery = async (): Promise<string[]> => {
      const byId = new Map((await deadLetters(replies, 4)).map((l) => [l.id, reasonOf(l).reason.match(/check "([\w-]+)"/)?.[1] ?? '?']));
      return [...byId.values()].sort();
    };
    let refused = await checkByForgery();
    for (let tries = 0; refused.length < 4 && tries < 50; tries += 1) refused = await checkByForgery();
    expect(refused).toEqual(['result', 'result', 'result', 'unknown-signer']);
    release();
    const task = await pending;
    expect(task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(textOfParts(task.artifacts![0]!.parts)).toBe('echo:slow');
  });

  it('an agent may not register a capability it may not serve: its own bus refuses, and a forged announcement registers nothing', async () => {
    const otherEchoServer = generateAgentKeys();
    const { bus, raw, topics, caller, deadLetters, bystander } = await setup({}, undefined, { echo: [otherEchoServer.publicKey] });
    const intruder = await bus(bystander);
    const refused = await intruder.registerAgent(card('echo'), { echo: () => 'intercepted' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(UntrustedEnvelopeError.isInstance(refused) && refused.check).toBe('serve');
    // Bypassing its own bus: an announcement signed by a key not allowed to serve `payments`.
    await raw.publish(
      topics.registry,
      signEnvelope(
        {
          kind: 'agent-card',
          key: 'evil/payments',
          payload: card('payments'),
          headers: { [runtimeHeaders.type]: 'agent-up', [runtimeHeaders.instance]: 'evil/payments' },
        },
        bystander,
      ),
    );
    // An instance of the real worker, said to be down by a key allowed to serve echo but not that instance's.
    const [echoAgent] = caller.agents().filter((a) => a.capabilities.includes('echo'));
    await raw.publish(
      topics.registry,
      signEnvelope(
        {
          kind: 'agent-card',
          key: echoAgent!.instanceId,
          payload: echoAgent!.card,
          headers: { [runtimeHeaders.type]: 'agent-down', [runtimeHeaders.instance]: echoAgent!.instanceId },
        },
        otherEchoServer,
      ),
    );
    const letters = await deadLetters(topics.registry, 2);
    const reasons = letters.map((l) => reasonOf(l).reason);
    expect(reasons.some((r) => /check "serve" failed: .* may not serve payments/.test(r))).toBe(true);
    expect(reasons.some((r) => /check "serve" failed: agent instance .* announced by .*, but it is/.test(r))).toBe(true);
    expect(caller.agents().some((a) => a.instanceId === echoAgent!.instanceId)).toBe(true);
    expect(caller.agents().some((a) => a.capabilities.includes('payments'))).toBe(false);
    // A bus started now, reading the registry from the log, does not take it either.
    const late = await bus(generateAgentKeys());
    expect(late.agents().some((a) => a.capabilities.includes('payments'))).toBe(false);
    expect(late.agents().some((a) => a.capabilities.includes('echo'))).toBe(true);
  });

  it('a replayed request is refused: again after it was handled, or created before the replay window', async () => {
    const { raw, topics, runs, deadLetters, callerKeys } = await setup({ maxAgeMs: 1_000 });
    const original = signEnvelope(request(randomUUID(), 'once'), callerKeys);
    await raw.publish(topics.tasks('echo'), original);
    await waitFor(() => runs.includes('once'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The same signed envelope again (a copy an attacker kept): handled here already.
    await raw.publish(topics.tasks('echo'), original);
    const [first] = await deadLetters(topics.tasks('echo'));
    expect(reasonOf(first!).reason).toMatch(/check "replay" failed: .*already handled/);
    // A signed request created 2 s ago: older than the 1 s window, whatever any dedup remembers.
    const old = signEnvelope({ ...request(randomUUID(), 'stale'), createdAt: new Date(Date.now() - 2_000).toISOString() }, callerKeys);
    await raw.publish(topics.tasks('echo'), old);
    const letters = await deadLetters(topics.tasks('echo'), 2);
    expect(letters.find((l) => l.id === old.id) && reasonOf(letters.find((l) => l.id === old.id)!).reason).toMatch(
      /check "replay" failed: .*before the replay window/,
    );
    expect(runs).toEqual(['once']);
  });

  it('warn mode logs the failed check and delivers anyway', async () => {
    const { lines, logger } = capturingLogger();
    const { raw, topics, runs } = await setup({ mode: 'warn' }, logger);
    await raw.publish(topics.tasks('echo'), signEnvelope(request(randomUUID(), 'tolerated'), generateAgentKeys()));
    await waitFor(() => runs.includes('tolerated'));
    expect(lines.some((line) => line.includes('untrusted envelope') && line.includes('unknown-signer'))).toBe(true);
  });

  it('audit() reports a step whose record was tampered with as not verified', async () => {
    const { caller, raw, topics } = await setup();
    const task = await caller.dispatch('echo', 'audited');
    const [request] = (await caller.audit(task.contextId)).filter((e) => e.type === 'task-request');
    // Someone with write access to the log appends an altered copy of the request.
    await raw.publish(topics.workflows, createEnvelope({ ...request!.envelope, id: randomUUID() }));
    const audit = await caller.audit(task.contextId);
    expect(audit.filter((e) => e.type === 'task-request').map((e) => e.verified)).toEqual([true, false]);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
