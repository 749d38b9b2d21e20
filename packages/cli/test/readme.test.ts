import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCapabilities, renderCapabilityTable, withCapabilityTable } from '../src/capability-table.js';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README', () => {
  it('carries the capability table generated from the transports (pnpm capabilities --write)', async () => {
    const table = renderCapabilityTable(await loadCapabilities());
    expect(withCapabilityTable(readme, table)).toBe(readme);
  });

  it('shows the hello-agents example exactly as the file that runs', () => {
    const example = readFileSync(new URL('packages/cli/src/examples/hello-agents.ts', root), 'utf8').trimEnd();
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('the hello-agents example runs and prints the completed task', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/examples/hello-agents.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, A2A_BUS_URL: 'memory://readme' },
      timeout: 60_000,
    });
    expect(out).toContain('TASK_STATE_COMPLETED HELLO, AGENTS');
    expect(out).toContain('task-request text.shout');
  });

  it('quick start has exactly the two commands for a fresh machine, and CI runs the test one', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Use it'));
    const commands = quickStart.split('\n').filter((line) => line.startsWith('bash '));
    expect(commands.map((c) => c.split('#')[0]!.trim())).toEqual(['bash scripts/dev.sh demo', 'bash scripts/dev.sh test']);
    expect(readFileSync(new URL('.ci/run', root), 'utf8')).toContain('bash scripts/dev.sh test');
  });
});
