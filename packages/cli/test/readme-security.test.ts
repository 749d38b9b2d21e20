import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('README, Security', () => {
  it('shows the trusted-agents example exactly as the file that runs', () => {
    const example = readFileSync(new URL('packages/cli/src/examples/trusted-agents.ts', root), 'utf8').trimEnd();
    expect(readme).toContain(`\`\`\`ts\n${example}\n\`\`\``);
  });

  it('the trusted-agents example runs: the task completes and every audited step is signed by the right agent and verified', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/examples/trusted-agents.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, A2A_BUS_URL: 'memory://readme-trusted' },
      timeout: 60_000,
    });
    expect(out).toContain('TASK_STATE_COMPLETED SIGNED AND CHECKED');
    expect(out).toContain('task-request text.shout caller true');
    expect(out).toContain('task-event text.shout worker true');
    expect(out).not.toContain('false');
  });
});
