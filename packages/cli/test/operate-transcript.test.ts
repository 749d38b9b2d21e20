import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { totalLag } from '@a2a-bus/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireBroker, skippedSuite } from '../../../test/src/env.js';
import { cliOk } from './support/run-cli.js';
import { startScenario, type Scenario } from './support/scenario.js';

/**
 * README's "Operate it" transcript is real: this runs each command of it against Redis and
 * compares the output with what README shows, volatile parts (times, offsets, numbers,
 * column padding) masked and record lines compared as a set (records written in the same
 * millisecond may list in either order). `WRITE_TRANSCRIPT=1` rewrites README's block.
 */
const readmeUrl = new URL('../../../README.md', import.meta.url);
const START = '<!-- transcript:operate (run by packages/cli/test/operate-transcript.test.ts; WRITE_TRANSCRIPT=1 rewrites it) -->';
const END = '<!-- transcript:end -->';
const commands = [
  'agents',
  'workflow order-42',
  'tail {ns}.tasks.ops.flaky',
  'dlq ls',
  'dlq redrive --filter capability=ops.flaky --by alice@ops',
  'dlq redrive --by alice@ops',
  'lag --group agents.ops.extract',
];

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname, port } = new URL(redisUrl);
const skipReason = await requireBroker('Redis', hostname, Number(port || 6379));

if (skipReason) {
  skippedSuite('[redis] README operate transcript', skipReason);
} else {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await startScenario(redisUrl, {
      namespace: `shop-${randomUUID().slice(0, 8)}`,
      completedWorkflow: 'order-42',
      failedWorkflow: 'order-43',
      completedTaskId: 'task-42',
      failedTaskId: 'task-43',
      workerInstance: 'worker-1',
      callerInstance: 'checkout-1',
      partitions: 2,
    });
    // Let every group settle, so lag reads 0 as README shows.
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const lag = await scenario.transport.inspectLag!({ group: 'agents.ops.extract' });
      if (lag.length > 0 && totalLag(lag) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 90_000);
  afterAll(async () => scenario?.close());

  it("[redis] README's Operate it transcript is what the commands print", async () => {
    const readme = readFileSync(readmeUrl, 'utf8');
    const writing = process.env.WRITE_TRANSCRIPT === '1';
    // The namespace is new each run (Redis keeps earlier runs' records); README shows the one
    // it was written with, of the same length, so the tables stay aligned.
    const shownNamespace = writing ? scenario.namespace : (/A2A_BUS_NAMESPACE=(shop-[0-9a-f]{8})/.exec(readme)?.[1] ?? 'shop-00000000');
    const env = { A2A_BUS_URL: redisUrl, A2A_BUS_NAMESPACE: scenario.namespace };
    const blocks: string[] = [`$ export A2A_BUS_URL=redis://127.0.0.1:6379 A2A_BUS_NAMESPACE=${shownNamespace}`];
    scenario.fix(); // the redriven request completes, so the second redrive finds nothing left
    for (const command of commands) {
      const { stdout } = await cliOk(command.replaceAll('{ns}', scenario.namespace).split(' '), env);
      blocks.push(`$ a2a-bus ${command.replaceAll('{ns}', shownNamespace)}\n${stdout.replaceAll(scenario.namespace, shownNamespace).trimEnd()}`);
    }
    const transcript = `\`\`\`console\n${blocks.join('\n\n')}\n\`\`\``;
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, 'README has the transcript markers').toBeGreaterThan(0);
    if (writing) {
      writeFileSync(readmeUrl, `${readme.slice(0, start + START.length)}\n${transcript}\n${readme.slice(end)}`);
      return;
    }
    const shown = readme.slice(start + START.length, end).trim();
    expect(normalized(shown)).toEqual(normalized(transcript));
  }, 120_000);
}

/**
 * Per command: its first output line in order, the rest as a sorted list. Times, offsets and
 * ids are masked everywhere; other numbers only where they are timings or sizes (agents,
 * workflow, tail): counts, lag and attempts must match.
 */
function normalized(transcript: string): Array<{ command: string; first: string; rest: string[] }> {
  const mask = (line: string, timings: boolean): string => {
    const masked = line
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'T')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'U')
      .replace(/shop-[0-9a-f]{8}/g, 'NS')
      .replace(/\d{10,}-\d+/g, 'O');
    return (timings ? masked.replace(/[+-]?\d+/g, 'N') : masked).replace(/\s+/g, ' ').trim();
  };
  return transcript.split(/\n(?=\$ )/).map((block) => {
    const [command = '', first = '', ...rest] = block.replace(/^```console\n|\n```$/g, '').split('\n');
    const timings = /^\$ a2a-bus (agents|workflow|tail)/.test(command);
    return { command: mask(command, false), first: mask(first, timings), rest: rest.map((line) => mask(line, timings)).sort() };
  });
}
