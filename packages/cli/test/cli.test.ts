import { runtimeTopics, type Envelope } from '@a2a-bus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBroker, skippedSuite } from '../../../test/src/env.js';
import { cliOk, jsonLines, runCli, startCli } from './support/run-cli.js';
import { startScenario, type Scenario } from './support/scenario.js';

const kafkaBrokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const backends = [
  { name: 'kafka', url: `kafka://${kafkaBrokers}`, address: kafkaBrokers },
  { name: 'redis', url: redisUrl, address: new URL(redisUrl).host },
  { name: 'nats', url: natsUrl, address: new URL(natsUrl).host },
];

for (const backend of backends) {
  const [host, port] = backend.address.split(',')[0]!.split(':') as [string, string];
  const skipReason = await requireBroker(backend.name, host, Number(port));
  if (skipReason) {
    skippedSuite(`[${backend.name}] a2a-bus CLI`, skipReason);
    continue;
  }

  describe(`[${backend.name}] a2a-bus CLI, spawned as a process`, () => {
    let scenario: Scenario;
    let env: Record<string, string>;
    beforeAll(async () => {
      scenario = await startScenario(backend.url);
      env = { A2A_BUS_URL: backend.url, A2A_BUS_NAMESPACE: scenario.namespace };
    }, 90_000);
    afterAll(async () => scenario?.close());

    it('agents: the live agent with its capabilities, as a table and as JSON lines', async () => {
      const [table, json] = await Promise.all([cliOk(['agents'], env), cliOk(['agents', '--json'], env)]);
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^NAME\s+INSTANCE\s+CAPABILITIES\s+STATUS\s+LASTHEARTBEAT\s+AGEMS\s+INFLIGHT$/);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(/^ops-agent\s+\S+\/ops-agent\s+ops\.extract,ops\.summarize,ops\.flaky\s+live\s/);
      const agents = jsonLines(json.stdout);
      expect(agents).toHaveLength(1);
      expect(agents[0]).toMatchObject({ name: 'ops-agent', status: 'live', capabilities: ['ops.extract', 'ops.summarize', 'ops.flaky'], inFlight: 0 });
      expect(agents[0]!.instance).toBe(`${scenario.worker.instanceId}/ops-agent`);
    }, 60_000);

    it('workflow: the timeline of a two-step workflow; --json gives the raw audit records', async () => {
      const [table, json] = await Promise.all([
        cliOk(['workflow', scenario.completedWorkflow], env),
        cliOk(['workflow', scenario.completedWorkflow, '--json'], env),
      ]);
      const records = jsonLines(json.stdout);
      const audit = await scenario.caller.audit(scenario.completedWorkflow);
      expect(records.map((r) => (r.envelope as Envelope).id)).toEqual(audit.map((entry) => entry.envelope.id));
      expect(records.filter((r) => r.type === 'task-request').map((r) => r.capability)).toEqual(['ops.extract', 'ops.summarize']);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`workflow ${scenario.completedWorkflow} (${audit.length} records)`);
      expect(lines[1]).toMatch(/^SINCESTARTMS\s+TYPE\s+TASKID\s+CAPABILITY\s+INSTANCE\s+STATE\s+ATTEMPTS\s+DURATIONMS\s+DETAIL$/);
      expect(lines).toHaveLength(audit.length + 2);
      const finals = lines.filter((line) => /\scompleted\s/.test(line));
      expect(finals).toHaveLength(2); // extract and summarize each completed once, in one attempt
      for (const line of finals) expect(line).toMatch(/\scompleted\s+1\s+\d+\s/);
      expect(table.stdout).toContain('artifact');
    }, 60_000);

    it('tail: decoded records of a topic from the beginning, by key, and JSON lines', async () => {
      const topic = runtimeTopics(scenario.namespace).workflows;
      const [table, json] = await Promise.all([
        cliOk(['tail', topic, '--key', scenario.completedWorkflow], env),
        cliOk(['tail', topic, '--key', scenario.completedWorkflow, '--json'], env),
      ]);
      const audit = await scenario.caller.audit(scenario.completedWorkflow);
      const records = jsonLines(json.stdout);
      expect(records.map((r) => r.id)).toEqual(audit.map((entry) => entry.envelope.id));
      for (const record of records) {
        expect(record).toMatchObject({
          key: scenario.completedWorkflow,
          kind: expect.any(String),
          bytes: expect.any(Number),
          offset: expect.any(String),
          partition: expect.any(Number),
        });
      }
      expect(records.filter((r) => r.type === 'task-request').map((r) => r.capability)).toEqual(['ops.extract', 'ops.summarize']);
      expect(records.find((r) => r.type === 'task-request')).toMatchObject({ kind: 'message', taskId: expect.any(String) });
      // From a position (that partition from that offset on), and from an instant.
      const pick = records[Math.floor(records.length / 2)]!;
      const [fromOffset, fromTime] = await Promise.all([
        cliOk(['tail', topic, '--from', `${pick.partition}:${pick.offset}`, '--key', scenario.completedWorkflow, '--json'], env),
        cliOk(['tail', topic, '--from', String(pick.time), '--key', scenario.completedWorkflow, '--json'], env),
      ]);
      const afterOffset = records.slice(records.indexOf(pick)).map((r) => r.id);
      expect(jsonLines(fromOffset.stdout).map((r) => r.id)).toEqual(afterOffset);
      const sinceTime = jsonLines(fromTime.stdout).map((r) => r.id);
      expect(sinceTime).toContain(pick.id);
      expect(sinceTime.every((id) => records.some((r) => r.id === id && String(r.time) >= String(pick.time)))).toBe(true);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^TIME\s+PARTITION\s+OFFSET\s+KEY\s+KIND\s+TYPE\s+TASKID\s+CAPABILITY\s+STATE\s+ATTEMPT\s+BYTES$/);
      expect(lines).toHaveLength(audit.length + 1);
    }, 60_000);

    it('tail --follow prints records published after it started, and stops at --limit', async () => {
      const topic = `${scenario.namespace}.tail-follow`;
      await scenario.transport.publish(topic, { kind: 'message', key: 'before', payload: { messageId: 'm0', role: 'ROLE_USER', parts: [{ text: 'old' }] } });
      const child = startCli(['tail', topic, '--from', 'latest', '--follow', '--json', '--limit', '2'], env);
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Publish until the follower has joined and printed the record (it starts asynchronously).
      const deadline = Date.now() + 40_000;
      for (let i = 0; !stdout.includes('"live-0"') && Date.now() < deadline; i += 1) {
        if (i === 0)
          await scenario.transport.publish(topic, {
            kind: 'message',
            key: 'live-0',
            payload: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'new' }] },
          });
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (i % 8 === 7 && !stdout.includes('"live-0"')) {
          await scenario.transport.publish(topic, {
            kind: 'message',
            key: 'live-0',
            payload: { messageId: `m1-${i}`, role: 'ROLE_USER', parts: [{ text: 'new' }] },
          });
        }
      }
      await scenario.transport.publish(topic, { kind: 'message', key: 'live-1', payload: { messageId: 'm2', role: 'ROLE_USER', parts: [{ text: 'newer' }] } });
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      if (code === 'timeout') child.kill('SIGKILL');
      expect(code).toBe(0);
      const records = jsonLines(stdout);
      expect(records).toHaveLength(2);
      expect(records.map((r) => r.key)).not.toContain('before');
      expect(records[0]).toMatchObject({ key: 'live-0', kind: 'message' });
    }, 90_000);

    it('tail shows an undecodable record with its decode error', async () => {
      const topic = `${scenario.namespace}.tail-raw`;
      await scenario.transport.publishRaw(topic, { key: 'junk', value: new TextEncoder().encode('not json at all') });
      const [table, json] = await Promise.all([cliOk(['tail', topic], env), cliOk(['tail', topic, '--json'], env)]);
      expect(jsonLines(json.stdout)).toEqual([expect.objectContaining({ key: 'junk', kind: 'undecodable', error: expect.stringContaining('not JSON') })]);
      expect(table.stdout).toMatch(/junk\s+undecodable.*✗ .*not JSON/);
    }, 60_000);

    it('dlq ls / show / redrive: redrive republishes the same id once, even when run twice', async () => {
      const deadLetterTopic = `${runtimeTopics(scenario.namespace).tasks('ops.flaky')}.dlq`;
      const listed = jsonLines((await cliOk(['dlq', 'ls', '--json'], env)).stdout);
      expect(listed).toHaveLength(1);
      const [letter] = listed;
      expect(letter).toMatchObject({ key: scenario.failedWorkflow, capability: 'ops.flaky', attempts: 2, handled: false, error: 'upstream exploded' });
      const id = String(letter!.id);

      // Read-only runs, side by side.
      const [show, dry, none] = await Promise.all([
        cliOk(['dlq', 'show', id, '--json'], env),
        cliOk(['dlq', 'redrive', '--filter', 'capability=ops.flaky', 'error~=EXPLODED', '--dry-run'], env),
        cliOk(['dlq', 'redrive', '--filter', 'key=some-other-workflow', '--json'], env),
      ]);
      const shown = jsonLines(show.stdout);
      expect(shown).toHaveLength(1);
      expect((shown[0]!.envelope as Envelope).kind).toBe('dead-letter');
      expect(((shown[0]!.envelope as Envelope & { kind: 'dead-letter' }).payload.original as Envelope).id).toBe(id);
      expect(dry.stdout).toMatch(/would redrive: 1/);
      expect(dry.stdout).toContain(id);
      expect(jsonLines(none.stdout)).toEqual([]);

      scenario.fix();
      const first = jsonLines((await cliOk(['dlq', 'redrive', '--json', '--by', 'ops-test'], env)).stdout);
      expect(first).toEqual([expect.objectContaining({ id, outcome: 'redriven' })]);
      const second = await cliOk(['dlq', 'redrive', '--by', 'ops-test'], env);
      expect(second.stdout).toMatch(/redriven: 0/);
      const [unhandled, withHandled] = await Promise.all([cliOk(['dlq', 'ls', '--json'], env), cliOk(['dlq', 'ls', '--handled', '--json'], env)]);
      expect(jsonLines(unhandled.stdout)).toEqual([]);
      const all = jsonLines(withHandled.stdout);
      expect(all).toEqual([expect.objectContaining({ id, handled: true, position: expect.stringContaining(deadLetterTopic) })]);

      // The original request went back once, same id, marked as redriven; the worker now completes it.
      const requests: Envelope[] = [];
      for await (const record of scenario.transport.replay(runtimeTopics(scenario.namespace).tasks('ops.flaky')))
        if (record.envelope) requests.push(record.envelope);
      expect(requests.map((r) => r.id)).toEqual([id, id]);
      expect(requests[1]!.headers).toMatchObject({ 'a2a-bus.redriven-by': 'ops-test', 'a2a-bus.redriven-from': expect.stringContaining(deadLetterTopic) });
      const deadline = Date.now() + 30_000;
      let completed = false;
      while (!completed && Date.now() < deadline) {
        const audit = await scenario.caller.audit(scenario.failedWorkflow);
        completed = audit.some(
          (entry) =>
            entry.envelope.kind === 'stream-response' &&
            'task' in entry.envelope.payload &&
            entry.envelope.payload.task.status.state === 'TASK_STATE_COMPLETED',
        );
        if (!completed) await new Promise((resolve) => setTimeout(resolve, 300));
      }
      expect(completed).toBe(true);
      const timeline = await cliOk(['workflow', scenario.failedWorkflow], env);
      expect(timeline.stdout).toMatch(/dead-letter\s+\S+\s+ops\.flaky\s+\S+\s+dead-lettered\s+2\s/);
      const afterRedrive = timeline.stdout.slice(timeline.stdout.indexOf('dead-lettered'));
      expect(afterRedrive).toMatch(/task-request\s+\S+\s+ops\.flaky\s+\S+\s+-\s+-\s+-\s+redriven by ops-test: try this/);
      expect(afterRedrive).toMatch(/task-event\s+\S+\s+ops\.flaky\s+\S+\s+completed\s+1\s/);
    }, 120_000);

    it('lag: every agent group of the namespace, 0 once caught up; --group narrows; JSON lines', async () => {
      const group = 'agents.ops.extract';
      let entries: Array<Record<string, unknown>> = [];
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
        entries = jsonLines((await cliOk(['lag', '--json'], env)).stdout);
        if (entries.length > 0 && entries.filter((e) => String(e.group).startsWith('agents.')).every((e) => e.lag === 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const groups = new Set(entries.map((e) => e.group));
      for (const capability of ['ops.extract', 'ops.summarize', 'ops.flaky']) expect(groups).toContain(`agents.${capability}`);
      for (const entry of entries) {
        expect(entry).toMatchObject({
          topic: expect.stringMatching(new RegExp(`^${scenario.namespace}\\.`)),
          partition: expect.any(Number),
          lag: expect.any(Number),
        });
        if (String(entry.group).startsWith('agents.')) expect(entry.lag).toBe(0);
      }
      const only = await cliOk(['lag', '--group', group], env);
      const [header, ...rows] = only.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^TOPIC\s+GROUP\s+PARTITION\s+COMMITTED\s+END\s+LAG\s+PENDING\s+REDELIVERED\s+OLDESTUNACKEDAGEMS$/);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows)
        expect(row).toMatch(new RegExp(`^${scenario.namespace}\\.tasks\\.ops\\.extract\\s+${group.replace(/\./g, '\\.')}\\s+\\d+\\s+.*\\s0\\s`));
    }, 60_000);

    it('a missing --url is a clear error, exit code 1', async () => {
      const result = await runCli(['lag'], { A2A_BUS_URL: '' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('--url (or A2A_BUS_URL) is required');
    });
  });
}
